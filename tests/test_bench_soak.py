"""The soak run waits for a page by its exact title, as the browser tests do."""
import asyncio
from concurrent.futures import ThreadPoolExecutor

from bench import soak


class _Locator:
    def __init__(self, log: list, has_text) -> None:
        self.log, self.has_text = log, has_text
        self.first = self

    async def click(self) -> None:
        pass

    async def wait_for(self, timeout: int) -> None:
        self.log.append(self.has_text)


class _Page:
    def __init__(self) -> None:
        self.log: list = []

    def locator(self, selector: str, has_text=None) -> _Locator:
        return _Locator(self.log, has_text)

    async def wait_for_function(self, js: str, timeout: int) -> None:
        pass


def run_alone(coroutine) -> None:
    """In a thread of its own: the browser tests' Playwright keeps an event loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def test_go_to_does_not_take_homes_title_for_encode_or_explore() -> None:
    home = "Variational autoencoders, explored"
    for name in ("Encode", "Explore"):
        page = _Page()
        run_alone(soak.go_to(page, name))
        (pattern,) = page.log
        assert not pattern.search(home)
        assert pattern.search(f" {name} ")
