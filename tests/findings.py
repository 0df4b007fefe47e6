"""What a finding says in full, for tests that check its numbers and remedy: the headline
(`message`) and the `detail` beside it, as the concise text output prints them."""

from __future__ import annotations


def said(diagnostic: dict) -> str:
    return f"{diagnostic['message']}: {diagnostic['detail']}" if diagnostic["detail"] else diagnostic["message"]
