# The taskgate manager image with Docker: `make docker-build IMG=...`.
# `make image` builds the released one without Docker (release/,
# hack/release): the same binary flags and user, on a distroless-style
# base built in Go, for linux/amd64 and linux/arm64, with an SBOM.
#
# Reproducible: the binary is built with -trimpath, without VCS stamping and
# with an empty build ID, from the module's pinned dependencies, so the same
# commit gives the same binary. BuildKit reads SOURCE_DATE_EPOCH (the
# Makefile passes the commit time) for the image's timestamps; add
# `--output type=image,rewrite-timestamp=true` to clamp file times in the
# layers too.
#
# Releases should pin both base images by digest (name:tag@sha256:...), not
# only by tag, so a rebuilt base cannot change a released image.

FROM golang:1.26 AS build
ARG SOURCE_DATE_EPOCH
WORKDIR /src
# Dependencies first, so a source change reuses the download layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w -buildid=" \
	-o /out/taskgate ./cmd/taskgate

# distroless/static: no shell, no package manager; runs as nonroot.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/taskgate /taskgate
USER 65532:65532
ENTRYPOINT ["/taskgate"]
