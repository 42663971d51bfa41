"""The suite's pseudonymisation key (synthetic, public): imported by conftest and by tests that check it.

Kept out of conftest.py because ``from conftest import …`` is ambiguous once tests/browser/conftest.py is
collected too."""

TEST_KEY = "test-pseudonym-key-0123456789abcdef"
