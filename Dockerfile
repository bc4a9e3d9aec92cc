# syntax=docker/dockerfile:1

# Build: a static binary (no cgo), reproducible paths.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# VERSION is what `rosterd version` prints, e.g. --build-arg VERSION=v1.2.3.
ARG VERSION=""
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /rosterd ./cmd/rosterd

# Run: distroless, no shell, non-root (uid 65532). `rosterd healthcheck`
# stands in for curl in health checks.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /rosterd /rosterd
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/rosterd"]
CMD ["serve"]
