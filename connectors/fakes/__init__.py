"""Local stand-ins for the WeChat and Telegram APIs: real HTTP servers on 127.0.0.1 that
record every call and can answer with the platforms' error codes (tests, simulator, bench)."""
