"""The API rate limit counts each request once, however many apps the process created
(found by this area's tests: with the limit registered per create_app(), a long test run
counted every request N times and late tests got 429)."""

from __future__ import annotations


def test_api_limit_counts_each_request_once(world, app):
    from hub import create_app

    for _ in range(3):
        create_app({"TESTING": True, "RATELIMIT_KEY_PREFIX": app.config["RATELIMIT_KEY_PREFIX"]})
    app.config["HUB_API_LIMIT"] = "5 per minute"
    codes = [world["api"]["admin"].get("/lexicon?page=1").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
