"""Stand-ins for the outside world in tests and benchmarks: a local HTTP server and an SMTP server."""
