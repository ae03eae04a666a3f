"""Orchestra AI database and storage (legacy project, still the source of truth).

Exports database_url and redis_url, which lambda-infra reads through a
StackReference.
"""

import pulumi
import pulumi_digitalocean as do

config = pulumi.Config()
region = config.get("region") or "sfo3"
db_size = config.get("db_size") or "db-s-1vcpu-1gb"
redis_size = config.get("redis_size") or "db-s-1vcpu-1gb"
db_name = config.get("db_name") or "orchestra"
stack = pulumi.get_stack()

postgres = do.DatabaseCluster(
    "orchestra-postgres",
    engine="pg",
    version="15",
    size=db_size,
    region=region,
    node_count=1,
    tags=["orchestra", stack],
)

database = do.DatabaseDb("orchestra-db", cluster_id=postgres.id, name=db_name)

redis = do.DatabaseCluster(
    "orchestra-redis",
    engine="redis",
    version="7",
    size=redis_size,
    region=region,
    node_count=1,
    tags=["orchestra", stack],
)

backups = do.SpacesBucket("orchestra-backups", region=region, acl="private")

pulumi.export("database_url", pulumi.Output.secret(postgres.uri))
pulumi.export("redis_url", pulumi.Output.secret(redis.uri))
pulumi.export("database_name", database.name)
pulumi.export("backups_bucket", backups.name)
