"""Browser tests of the web console (Playwright driving Debian's Chromium) against the real stack."""
