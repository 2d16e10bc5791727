from tests.conftest import PLAN_START as START

__all__ = ["START"]
