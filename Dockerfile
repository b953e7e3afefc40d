# callplane daemon image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/callplane ./controller

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 callplane
COPY --from=build /out/callplane /usr/local/bin/callplane
COPY configs /etc/callplane
USER callplane
EXPOSE 8080
ENTRYPOINT ["callplane"]
CMD ["serve", "--config", "/etc/callplane/callplane.compose.yaml"]
