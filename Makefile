# kplay's entry points. `make deploy` is the main job (a real cluster on the lab); `make test`
# runs every test, the lab end-to-end tests included (root needed for those).
GO ?= go

.PHONY: build deploy test test-unit test-faults vet fmt-check clean bench

build:
	$(GO) build -o bin/kplay ./cmd/kplay

deploy:
	lab/deploy.sh

test: vet fmt-check
	lab/deps.sh
	scripts/staticcheck.sh
	$(GO) test -race -count=1 -timeout 40m ./...

# The lab's fault scenarios alone (make test runs them too).
test-faults:
	lab/deps.sh
	$(GO) test -count=1 -timeout 40m -run 'TestFaults' -v ./test/e2e/

test-unit:
	KPLAY_SKIP_LAB=1 $(GO) test -race ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Timings on a lab of its own (root; brings it up and takes it down): see docs/performance.md.
bench:
	bench/run.sh

clean:
	rm -rf bin
