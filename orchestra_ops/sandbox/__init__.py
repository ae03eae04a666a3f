"""The sandbox: local emulators of Vercel and Lambda Cloud, and the scanners' advisory feeds.

Everything binds to 127.0.0.1. Tests start pieces in-process; `orchestra-ops sandbox`
starts all of them and writes an endpoints file.
"""
