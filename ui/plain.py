"""Text from files and visitors shown as text: Streamlit renders alerts, captions and
markdown as Markdown, where `![t](http://...)` would make the page fetch a URL and
`:red[...]`, `**` or `<` would restyle it."""
from __future__ import annotations

import re

# Active inside a line (every value shown is preceded by other text, so "-", "+" and "." cannot start a list)
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#!|~:$&])")


def plain(text: object) -> str:
    """`text` with every Markdown-active character escaped, so it reads exactly as written."""
    return _MARKDOWN.sub(r"\\\1", str(text)).replace("\n", " ")
