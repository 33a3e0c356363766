"""Deploy-time overrides of the per-service request rates."""
from tvreport import env_keys
from tvreport.clients.http import build_rate_limiter


def test_an_override_replaces_the_default_rate(monkeypatch):
    monkeypatch.setenv(env_keys.UPSTREAM_RATE_LIMITS, '{"rottentomatoes": 50, "tmdb": null}')
    limiter = build_rate_limiter("rottentomatoes")
    assert limiter is not None
    assert [rate.limit for rate in limiter.bucket_factory.bucket.rates] == [50]
    assert build_rate_limiter("tmdb") is None  # null: unlimited


def test_without_overrides_the_defaults_hold(monkeypatch):
    monkeypatch.delenv(env_keys.UPSTREAM_RATE_LIMITS, raising=False)
    assert build_rate_limiter("tmdb") is not None
    assert build_rate_limiter("gandalf") is None
