"""Pulumi stack reorganisation (track 4): discover, map, plan, rewrite and validate, all pure."""
