# taskgate's build, test and demo entry points. `make help` lists them.
#
# Every tool is pinned: controller-gen, helm and golangci-lint (built with
# kube-api-linter) in tools/go.mod, the local cluster's binaries
# (Kubernetes, etcd, kwok, Tekton) in test/clusterbin/*, and the real
# node's Debian packages in hack/install-node-packages.sh.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

GO            ?= go
TOOL          := $(GO) tool -modfile=tools/go.mod
CLUSTER_DIR   ?= $(CURDIR)/.cluster
E2E_TIMEOUT   ?= 60m
# Extra flags for test/cmd/bench, e.g. BENCH_FLAGS='-only admission,handlers'.
BENCH_FLAGS   ?=
# A count, not a duration: duration-bounded fuzzing can end in a spurious
# "context deadline exceeded" on Go 1.26 (golang/go#75804).
FUZZ_TIME     ?= 20000x
LOCALCLUSTER  := $(CURDIR)/bin/localcluster
# Every Go module of the tree, for the tidy check: the product, its tools,
# the test harness and the local cluster's pinned binaries.
GO_MODULES    := $(dir $(wildcard go.mod tools/go.mod test/go.mod test/clusterbin/*/go.mod))
# The manager image docker-build tags.
IMG           ?= ghcr.io/taskgate/taskgate:dev
# Image timestamps come from the commit, for reproducible builds.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
# The release's version (SemVer); hack/release defaults it to the chart's
# appVersion. The image's revision label is the commit.
VERSION       ?=
REVISION      ?= $(shell git rev-parse HEAD 2>/dev/null)
# Where `make image` and `make release` write; gitignored.
DIST          ?= $(CURDIR)/dist
# A reference `make image` also pushes the image to, with docker's
# credentials, e.g. PUSH=registry.example.com/taskgate/taskgate:v0.1.0.
PUSH          ?=
RELEASE_FLAGS  = -dist $(DIST) -revision '$(REVISION)' -source-date-epoch $(SOURCE_DATE_EPOCH) $(if $(VERSION),-version $(VERSION))

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} \
		/^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } \
		/^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: ## Generate deepcopy code, CRDs and RBAC with the pinned controller-gen.
	$(TOOL) controller-gen object paths=./api/...
	$(TOOL) controller-gen crd paths=./api/... output:crd:dir=charts/taskgate/files/crds
	$(TOOL) controller-gen rbac:roleName=taskgate-manager paths=./manager/... paths=./reconciler/... output:rbac:dir=charts/taskgate/files/rbac
	$(GO) run ./hack/admissionpolicies

.PHONY: fmt
fmt: ## Format the Go code.
	gofmt -w $$(git ls-files '*.go')

.PHONY: verify
verify: ## Fail if generated files are stale, code is unformatted, a module is untidy, vet or a linter complains, or helm lint does.
	@$(MAKE) --no-print-directory generate
	@git diff --exit-code -- api charts/taskgate/files/crds charts/taskgate/files/rbac charts/taskgate/files/admission || { echo "generated files are stale: run 'make generate' and commit the result"; exit 1; }
	@test -z "$$(git status --porcelain -- api charts/taskgate/files/crds charts/taskgate/files/rbac charts/taskgate/files/admission)" || { git status --porcelain -- api charts/taskgate/files/crds charts/taskgate/files/rbac charts/taskgate/files/admission; echo "generated files are untracked: run 'make generate' and commit the result"; exit 1; }
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "run 'make fmt'"; exit 1; }
	$(GO) vet ./...
	cd test && $(GO) vet ./...
	@$(MAKE) --no-print-directory verify-tidy lint helm-lint

.PHONY: tidy
tidy: ## Run go mod tidy in every module.
	@for dir in $(GO_MODULES); do echo "go mod tidy in $$dir"; (cd $$dir && $(GO) mod tidy); done

.PHONY: verify-tidy
verify-tidy: ## Fail if go mod tidy would change any module's go.mod or go.sum.
	@for dir in $(GO_MODULES); do \
		(cd $$dir && $(GO) mod tidy -diff) || { echo "$${dir}go.mod or go.sum is not tidy: run 'make tidy' and commit the result"; exit 1; }; \
	done

.PHONY: lint
lint: ## Lint the Go code of both modules, and api/ against the Kubernetes API conventions, with the pinned golangci-lint and kube-api-linter (.golangci.yml).
	$(TOOL) golangci-lint-kube-api-linter run ./...
	cd test && $(GO) tool -modfile=../tools/go.mod golangci-lint-kube-api-linter run --config ../.golangci.yml ./...

##@ Build

.PHONY: build
build: ## Build the commands in cmd/ into bin/.
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ ./cmd/...

.PHONY: image
image: ## Build the manager image for linux/amd64 and arm64 without Docker into $(DIST) (OCI layout tarball, digest, SBOMs); PUSH=ref also pushes it.
	$(GO) run ./hack/release image $(RELEASE_FLAGS) $(if $(PUSH),-push $(PUSH))

.PHONY: release
release: ## Write a release into $(DIST): the image, the chart with its digest pinned, kubectl-task for linux and darwin, SHA256SUMS.
	$(GO) run ./hack/release release $(RELEASE_FLAGS)

.PHONY: docker-build
docker-build: ## Build the manager image as $(IMG) (needs Docker with BuildKit).
	docker build --build-arg SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) -t $(IMG) .

.PHONY: helm-lint
helm-lint: ## Lint the Helm chart, strictly, with the pinned helm, with its defaults and each charts/taskgate/ci/*-values.yaml.
	$(TOOL) helm lint --strict charts/taskgate
	@for values in charts/taskgate/ci/*-values.yaml; do \
		echo "helm lint --strict charts/taskgate --values $$values"; \
		$(TOOL) helm lint --strict charts/taskgate --values $$values; \
	done

##@ Test

.PHONY: test
test: verify image test-unit test-fuzz test-e2e ## Run every check and test; the README's test command.

# test/ is a module of its own (test/go.mod). Its e2e and chartinstall
# packages start a cluster in TestMain, and -short skips localcluster's test
# that starts one: test-e2e runs those. The harness's unit tests run with
# -count=1, as they did in test-e2e: helm reads the chart in a process of its
# own, which go test's cache cannot see.
HARNESS_CLUSTER_PKGS := ./e2e ./chartinstall ./localcluster

.PHONY: test-unit
test-unit: ## Run the unit tests of both modules, the product's and test/'s (no cluster).
	$(GO) test -race ./...
	cd test && $(GO) test -short -count=1 $$($(GO) list ./... | grep -v -e '/test/e2e$$' -e '/test/chartinstall$$')

.PHONY: test-fuzz
test-fuzz: ## Run each fuzzer briefly (FUZZ_TIME executions each).
	@for target in $$(git grep -l '^func Fuzz' -- '*_test.go' | xargs -r dirname | sort -u); do \
		for fuzz in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$target/*_test.go | cut -d' ' -f2); do \
			echo "fuzzing $$fuzz in ./$$target for $(FUZZ_TIME)"; \
			$(GO) test ./$$target -run='^$$' -fuzz="^$$fuzz$$" -fuzztime=$(FUZZ_TIME); \
		done; \
	done

.PHONY: test-e2e
# -p 1: each of these packages starts a cluster, and only one runs on a
# machine at a time; run side by side, the second would wait on the first
# against its own 30-minute start deadline.
test-e2e: cluster-build node-packages ## Run the tests on a fresh local cluster.
	cd test && $(GO) test -p 1 -count=1 -timeout $(E2E_TIMEOUT) $(HARNESS_CLUSTER_PKGS)

.PHONY: bench
bench: ## Measure taskgate beside its baselines on a fresh local cluster (about 80 min); see docs/performance.md.
	cd test && $(GO) run ./cmd/bench -dir $(CLUSTER_DIR)/bench $(BENCH_FLAGS)

##@ Local cluster

$(LOCALCLUSTER): $(shell git ls-files test/go.mod test/go.sum test/localcluster test/cmd 2>/dev/null)
	cd test && $(GO) build -o $@ ./cmd/localcluster

.PHONY: cluster-build
cluster-build: $(LOCALCLUSTER) ## Build the local cluster's pinned binaries into the cache.
	$(LOCALCLUSTER) build -timeout 80m

.PHONY: node-packages
node-packages: ## Install the real node's pinned Debian packages (containerd, runc, CNI, busybox) if missing; needs root.
	./hack/install-node-packages.sh

.PHONY: cluster-up
cluster-up: $(LOCALCLUSTER) node-packages ## Start a local cluster with a real node in the background; prints its KUBECONFIG.
	$(LOCALCLUSTER) up -dir $(CLUSTER_DIR)

.PHONY: cluster-down
cluster-down: $(LOCALCLUSTER) ## Stop the local cluster (and the demo's manager).
	@if [ -f $(CLUSTER_DIR)/manager.pid ]; then kill $$(cat $(CLUSTER_DIR)/manager.pid) 2>/dev/null || true; rm -f $(CLUSTER_DIR)/manager.pid; fi
	$(LOCALCLUSTER) down -dir $(CLUSTER_DIR)

##@ Demo

.PHONY: demo
demo: cluster-up ## Start a local cluster, run taskgate on it, and run the examples.
	$(GO) build -o bin/ ./cmd/taskgate ./cmd/kubectl-task
	./hack/demo.sh $(CLUSTER_DIR)
