"""Orchestra AI backend on Lambda Labs.

Lambda Labs has no Pulumi provider, so the instance itself is still launched by
../../deploy_lambda_labs.sh. This program renders the cloud-init user data,
bootstraps the running host over SSH and publishes the API URL for the
frontend stack.
"""

import pulumi
from jinja2 import Template
from pulumi_command import remote

config = pulumi.Config()
instance_type = config.require("instance_type")
region = config.get("region") or "us-west-1"
ssh_key_name = config.require("ssh_key_name")
instance_count = config.get_int("instance_count") or 1
api_domain = config.require("api_domain")
api_key = config.require_secret("api_key")

# The instance IP is pasted in after running deploy_lambda_labs.sh.
instance_ip = config.get("instance_ip") or "0.0.0.0"

# Database and cache live in the legacy storage project.
# TODO: prod still reads the dev database stack; there is no legacy-database/prod yet.
database = pulumi.StackReference("orchestra/legacy-database/dev")
database_url = database.get_output("database_url")
redis_url = database.get_output("redis_url")

with open("templates/user-data.yaml.j2", encoding="utf-8") as fh:
    user_data = Template(fh.read()).render(
        api_domain=api_domain,
        region=region,
        instance_type=instance_type,
    )

bootstrap = remote.Command(
    "bootstrap-api",
    connection=remote.ConnectionArgs(host=instance_ip, user="ubuntu"),
    create=pulumi.Output.all(database_url, redis_url, api_key).apply(
        lambda args: (
            "sudo mkdir -p /etc/orchestra && "
            f"echo 'DATABASE_URL={args[0]}\nREDIS_URL={args[1]}\nAPI_KEY={args[2]}' "
            "| sudo tee /etc/orchestra/api.env >/dev/null && "
            "sudo systemctl restart orchestra-api"
        )
    ),
)

pulumi.export("instance_type", instance_type)
pulumi.export("region", region)
pulumi.export("ssh_key_name", ssh_key_name)
pulumi.export("instance_count", instance_count)
pulumi.export("api_url", f"https://{api_domain}")
pulumi.export("user_data", user_data)
pulumi.export("bootstrap_stdout", bootstrap.stdout)
