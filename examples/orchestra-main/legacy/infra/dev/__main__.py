"""Old dev sandbox: one droplet running Postgres and Redis in Docker."""

import pulumi
import pulumi_digitalocean as do

config = pulumi.Config()

droplet = do.Droplet(
    "orchestra-dev",
    image="docker-20-04",
    region=config.get("region") or "sfo3",
    size=config.get("droplet_size") or "s-2vcpu-4gb",
    user_data="#!/bin/sh\ndocker run -d -p 5432:5432 -e POSTGRES_PASSWORD=changeme postgres:13\n",
)

pulumi.export("droplet_ip", droplet.ipv4_address)
pulumi.export("database_url", droplet.ipv4_address.apply(lambda ip: f"postgres://postgres:changeme@{ip}:5432/postgres"))
