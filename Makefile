# kplay's entry points. `make deploy` is the main job (a real cluster on the lab); `make test`
# runs every test, the lab end-to-end tests included (root needed for those).
GO ?= go

.PHONY: build deploy test test-unit vet fmt-check clean

build:
	$(GO) build -o bin/kplay ./cmd/kplay

deploy:
	lab/deploy.sh

test: vet fmt-check
	lab/deps.sh
	scripts/staticcheck.sh
	$(GO) test -race -count=1 -timeout 40m ./...

test-unit:
	KPLAY_SKIP_LAB=1 $(GO) test -race ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin
