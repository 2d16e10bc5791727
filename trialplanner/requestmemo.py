"""Values read once per request and dropped when it ends: the catalog's rule book, which one
visit POST otherwise reads four times (7 queries each) while judging findings and re-planning.

Not a cache between requests: nothing outlives the request, so nothing needs invalidating and a
catalog edit shows on the next request. Outside a request (commands, tests calling services)
every call computes afresh.
"""

from contextvars import ContextVar

_memo = ContextVar("request_memo", default=None)


def once_per_request(name, compute):
    """compute(), at most once per request under `name`."""
    store = _memo.get()
    if store is None:
        return compute()
    if name not in store:
        store[name] = compute()
    return store[name]


class RequestMemoMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _memo.set({})
        try:
            return self.get_response(request)
        finally:
            _memo.reset(token)
