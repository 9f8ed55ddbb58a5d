"""Text a person typed, made safe to put into Streamlit markdown.

Every name, comment, reason, evidence, file name or query parameter shown through st.markdown,
st.write, st.caption, st.info/success/warning/error, titles or expander labels goes through
`esc()`: each markdown punctuation character (and so every HTML tag, link, image and bare-URL
autolink a value could spell) is backslash-escaped, so it shows as typed and does nothing.
tests/pages/test_untrusted_text.py fails when a page interpolates a value without it.
"""

from __future__ import annotations

import re

# CommonMark's escapable ASCII punctuation, which covers HTML (<, >, &), links and images
# ([, ], (, ), !), emphasis, code, headings, tables, and GFM autolinks (":", "." and "@").
_SPECIAL = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


def esc(value: object) -> str:
    """`value` as literal text inside markdown: shows as typed, renders no markup."""
    text = "" if value is None else str(value)
    return _SPECIAL.sub(r"\\\1", text).replace("\r", " ").replace("\n", "  \n")


def markup(value: str) -> str:
    """Markdown the code itself wrote (a colour badge such as ":orange[attendance open]", a bold
    grade), passed through as it is. Never for text a person typed: escape parts of it first."""
    return value
