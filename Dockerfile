# leakhound from source, as a static musl binary on an empty base image.
#   docker build -t leakhound .
#   docker run --rm -v "$PWD:/src:ro" leakhound                 # scan the current directory
#   docker run --rm -v "$PWD:/src:ro" -u "$(id -u):$(id -g)" leakhound git   # history: run as the repo's owner
# The released image (ghcr.io) is built from the release archives instead, with
# packaging/Dockerfile.prebuilt (.github/workflows/docker.yml).

FROM rust:1-alpine AS build
# musl-dev: the C runtime for libgit2 (vendored by the git2 crate) and the static link.
RUN apk add --no-cache musl-dev
WORKDIR /build
COPY Cargo.toml Cargo.lock build.rs README.md ./
COPY src src
COPY rules rules
COPY benches benches
RUN cargo build --release --locked --bin leakhound \
 && install -D -m 0755 target/release/leakhound /out/leakhound \
 && /out/leakhound --version

FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="leakhound" \
      org.opencontainers.image.description="Fast, quiet secret scanner for working trees, git history and pre-commit" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.source="https://github.com/leakhound/leakhound" \
      org.opencontainers.image.documentation="https://github.com/leakhound/leakhound/blob/main/docs/install.md" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/leakhound /usr/local/bin/leakhound
# `leakhound git` on a checkout owned by another user (docker run -v): packaging/gitconfig.
COPY packaging/gitconfig /etc/gitconfig
WORKDIR /src
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/leakhound"]
CMD ["scan", "."]
