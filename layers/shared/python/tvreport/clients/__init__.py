"""Outside-service clients (Gandalf, TMDB, Rotten Tomatoes, OpenAI) and their shared
HTTP plumbing. Each client takes its base URL, its credential and an optional
`httpx.Client`, so tests and the local runner point it at a sandbox."""
