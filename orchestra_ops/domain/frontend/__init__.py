"""Frontend migration to Vercel: app detection, vercel.json, next.config and env plans."""
