"""Reads the vault the host mounts (infra/secrets/vault is a link to it)."""
