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


def test_a_share_below_one_a_second_is_one_request_per_interval(monkeypatch):
    monkeypatch.setenv(env_keys.UPSTREAM_RATE_LIMITS, '{"rottentomatoes": 0.4, "tmdb": 4.0}')
    [slow] = build_rate_limiter("rottentomatoes").bucket_factory.bucket.rates
    assert (slow.limit, slow.interval) == (1, 2500)  # 0.4/s: one every 2.5 s, never more
    [tmdb] = build_rate_limiter("tmdb").bucket_factory.bucket.rates
    assert (tmdb.limit, tmdb.interval) == (4, 1000)


def test_the_shares_of_every_caller_add_up_to_the_budget():
    from tvreport.upstream_budgets import per_process_shares

    shares = per_process_shares({"openai": 9}, {"query_activities": 5, "query_show_data": 10,
                                                "crawl_rotten_tomatoes": 5, "tv_bff": 2, "star_sign_picker": 1})
    assert shares["tv_bff"]["openai"] == shares["star_sign_picker"]["openai"] == 3.0  # one budget, 3 processes
    assert shares["query_show_data"]["tmdb"] == 4.0 and shares["query_activities"]["gandalf"] is None
