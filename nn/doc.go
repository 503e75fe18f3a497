// Package nn is aexp's float32 training engine: a define-by-run reverse-mode
// autodiff tape over row-major batch×feature tensors, with layers, losses,
// optimizers, safetensors checkpoints and a PCA baseline.
//
// Every matrix product goes through gonum's blas32 API (transposes are BLAS
// flags); build with -tags openblas (and CGO_LDFLAGS=-lopenblas) to run on
// OpenBLAS, see Backend and SetThreads.
//
// # A training step
//
// Ops are methods on a Graph. They compute at once and record what the
// backward pass needs. Reset the graph at the start of every step: it then
// hands out the same buffers in the same order, so steady-state steps do
// not allocate.
//
//	rng := rand.New(rand.NewPCG(seed, 0))
//	enc := nn.NewLinear("enc", 784, 32, nn.ActReLU, rng)
//	dec := nn.NewLinear("dec", 32, 784, nn.ActSigmoid, rng) // or nn.NewTied("dec", enc, nn.ActSigmoid)
//	params := append(enc.Params(), dec.Params()...)
//	opt := nn.NewAdam(params, 1e-3)
//	g := nn.NewGraph()
//	for each batch {
//		g.Reset()
//		x := g.Input(128, 784)         // fill x.Data, e.g. pixels/255
//		y := dec.Forward(g, enc.Forward(g, x))
//		loss := g.MSE(y, x)
//		g.Backward(loss)               // accumulates into params' Grad
//		nn.ClipGradNorm(params, 5)     // optional
//		opt.Step()                     // updates and clears the gradients
//		_ = loss.Scalar()
//	}
//
// For evaluation set g.Train = false (Dropout and GaussianNoise become the
// identity) and g.NoGrad = true (no gradient buffers); skip Backward.
//
// A VAE's middle:
//
//	mu, logvar := muL.Forward(g, h), lvL.Forward(g, h)
//	z := g.Reparam(mu, logvar, rng)              // mu + exp(logvar/2)·ε
//	logits := decoder(z)                          // last layer ActLinear
//	rec := g.Scale(g.BCEWithLogits(logits, x), 784) // nats per example
//	loss := g.Add(rec, g.Scale(g.KLNormal(mu, logvar), beta))
//
// A recurrent autoencoder over MNIST rows (28 steps of 28 features):
//
//	hs := gru.Forward(g, x, 28, nil)           // B × 28·H, all hidden states
//	code := codeL.Forward(g, g.SliceCols(hs, 27*H, 28*H))
//	ds := dec.Forward(g, code, 28, nil)        // code fed at every step
//	y := outL.Forward(g, g.Reshape(ds, B*28, H)) // one product for all steps
//	loss := g.MSE(g.Reshape(y, B, 784), x)
//
// Checkpoints: SaveCheckpoint / LoadCheckpoint (safetensors, parameters by
// Name plus optimizer state). Baseline: PCAError or FitPCA(...).MSE.
//
// Shape mismatches are programmer errors and panic. Randomness always comes
// from an explicitly passed *rand.Rand.
package nn
