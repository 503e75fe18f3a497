package viztest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// ChromiumPath finds a Chromium binary on PATH, or "".
func ChromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// checker runs in a copy of the page: it checks every image once the page
// has loaded and reports through the title, which --dump-dom shows.
const checker = `<script>
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0, bad = [];
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; else bad.push(imgs[i].alt || i);
  }
  document.title = "IMAGES ok=" + ok + " broken=" + bad.length + " [" + bad.join(",") + "]";
});
</script>`

var titleRE = regexp.MustCompile(`<title>IMAGES ok=(\d+) broken=(\d+) \[([^\]]*)\]</title>`)

// CheckInChromium opens the HTML page at path in headless Chromium and
// asserts that it renders want images, none of them broken, and that a
// screenshot of it is not blank. It returns the screenshot's PNG bytes.
// The test fails when Chromium is not installed: it is part of the suite
// (`apt-get install chromium`; .ci/run installs it).
func CheckInChromium(t *testing.T, path string, want int) []byte {
	t.Helper()
	chrome := ChromiumPath()
	if chrome == "" {
		t.Fatal("chromium not installed: apt-get install -y chromium (.ci/run installs it)")
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	checked := filepath.Join(dir, "checked.html")
	// The last </body>: inline scripts (ECharts) may hold the text too.
	at := strings.LastIndex(string(page), "</body>")
	if at < 0 {
		t.Fatalf("%s has no </body>", path)
	}
	if err := os.WriteFile(checked, []byte(string(page[:at])+checker+string(page[at:])), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir()}
		cmd := exec.CommandContext(ctx, chrome, append(base, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", chrome, strings.Join(args, " "), err, tail(stderr.String(), 2000))
		}
		return out
	}
	dom := string(run("--virtual-time-budget=5000", "--dump-dom", "file://"+checked))
	m := titleRE.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the image checker did not run; the dumped DOM ends:\n%s", tail(dom, 600))
	}
	if m[1] != fmt.Sprint(want) || m[2] != "0" {
		t.Errorf("Chromium rendered %s of %d images; %s broken: [%s]", m[1], want, m[2], m[3])
	}
	shot := filepath.Join(dir, "shot.png")
	run("--screenshot="+shot, "--window-size=1280,2400", "--hide-scrollbars", "file://"+path)
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if v := Variance(img); v < 1e-3 {
		t.Errorf("the screenshot looks blank (luminance variance %g)", v)
	}
	return b
}

// Variance is the variance of an image's luminance in [0, 1]: about 0 for a
// blank picture.
func Variance(img image.Image) float64 {
	var s, ss, n float64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			v := (float64(r) + float64(g) + float64(bl)) / 3 / 65535
			s += v
			ss += v * v
			n++
		}
	}
	return ss/n - (s/n)*(s/n)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
