"""`python -m local bench`: whole local sessions measured against their lower bound.

Scenarios run on LocalSystem with a fixed latency per sandbox service; the figures
come from the edges the system already has: the sandbox servers (requests and their
arrival times), the moto edge (every DynamoDB, SQS and Secrets Manager request and
answer) and the engine (one record per invocation). docs/BENCHMARKS.md says how each
figure is computed. Nothing here changes stage code."""

# Light on purpose: `python -m local`'s parser imports these names.
SCENARIOS = ("light", "typical", "heavy", "heavy-warm", "concurrent", "scale-100k", "fairness")
DEFAULT_LATENCY_MS = {"gandalf": 150, "tmdb": 60, "rottentomatoes": 250, "openai": 800}  # per request
