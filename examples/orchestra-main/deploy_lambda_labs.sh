#!/usr/bin/env bash
# Manual provisioning of the Orchestra API host on Lambda Labs.
#
# Usage: LAMBDA_LABS_API_KEY=... ./deploy_lambda_labs.sh [dev|prod]
#
# Launches one instance, waits for it to become active, prints its IP and
# copies the API container onto it. After it finishes, paste the IP into
# infrastructure/pulumi (`pulumi config set instance_ip <ip>`) and run
# `pulumi up` there to bootstrap the host.
set -euo pipefail

ENVIRONMENT="${1:-dev}"
API="https://cloud.lambda.ai/api/v1"
: "${LAMBDA_LABS_API_KEY:?LAMBDA_LABS_API_KEY must be set}"
SSH_KEY_NAME="${LAMBDA_LABS_SSH_KEY_NAME:-orchestra-${ENVIRONMENT}}"

case "$ENVIRONMENT" in
  dev)  INSTANCE_TYPE="cpu_4x_general"; REGION="us-west-1" ;;
  prod) INSTANCE_TYPE="gpu_1x_a10";     REGION="us-east-1" ;;
  *) echo "unknown environment: $ENVIRONMENT" >&2; exit 2 ;;
esac

for tool in curl jq ssh scp; do
  command -v "$tool" >/dev/null || { echo "missing dependency: $tool" >&2; exit 1; }
done

lambda_api() {
  local method="$1" path="$2"
  shift 2
  curl --fail-with-body --silent --show-error \
    --request "$method" \
    --user "${LAMBDA_LABS_API_KEY}:" \
    --header "Content-Type: application/json" \
    "$@" "${API}${path}"
}

echo "==> Launching ${INSTANCE_TYPE} in ${REGION} (${ENVIRONMENT})"
payload=$(jq -n \
  --arg region "$REGION" \
  --arg type "$INSTANCE_TYPE" \
  --arg key "$SSH_KEY_NAME" \
  --arg name "orchestra-api-${ENVIRONMENT}" \
  '{region_name: $region, instance_type_name: $type, ssh_key_names: [$key], quantity: 1, name: $name}')

response=$(lambda_api POST /instance-operations/launch --data "$payload")
instance_id=$(jq -r '.data.instance_ids[0]' <<<"$response")
if [[ -z "$instance_id" || "$instance_id" == "null" ]]; then
  echo "launch failed: $response" >&2
  exit 1
fi
echo "==> Instance ${instance_id} requested"

ip=""
for attempt in $(seq 1 60); do
  details=$(lambda_api GET "/instances/${instance_id}")
  status=$(jq -r '.data.status' <<<"$details")
  ip=$(jq -r '.data.ip // empty' <<<"$details")
  echo "    [$attempt/60] status=${status} ip=${ip:-pending}"
  if [[ "$status" == "active" && -n "$ip" ]]; then
    break
  fi
  if [[ "$status" == "terminated" || "$status" == "unhealthy" ]]; then
    echo "instance ${instance_id} ended up ${status}" >&2
    exit 1
  fi
  sleep 10
done
[[ -n "$ip" ]] || { echo "timed out waiting for ${instance_id}" >&2; exit 1; }

echo "==> Copying API bundle to ubuntu@${ip}"
scp -o StrictHostKeyChecking=accept-new -r requirements.txt ubuntu@"${ip}":/home/ubuntu/
ssh -o StrictHostKeyChecking=accept-new ubuntu@"${ip}" \
  'python3 -m venv ~/venv && ~/venv/bin/pip install -r ~/requirements.txt'

echo "==> Done: ${instance_id} at ${ip}"
echo "    Next: (cd infrastructure/pulumi && pulumi config set instance_ip ${ip} && pulumi up)"
