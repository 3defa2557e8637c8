# One image for every Kalency process; docker-compose picks the entry point per service.
FROM denoland/deno:2.9.6
WORKDIR /app
COPY deno.json deno.lock ./
COPY . .
RUN deno install --frozen && deno task build:web
ENV KALENCY_HOST=0.0.0.0
USER deno
CMD ["deno", "task", "up", "--no-infra"]
