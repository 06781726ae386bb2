#!/bin/sh
# One-shot job (temporalio/admin-tools image), run once the server is healthy,
# by compose (service temporal-setup) and by the Helm chart (its setup Job)
# alike: make sure the namespace and the `Tenant` search attribute (Keyword)
# that the agent's workflows use exist. Idempotent, so it runs on every
# install and upgrade; retries while the frontend warms up (a namespace just
# created takes a few seconds to be visible everywhere). TLS and API-key
# settings come from the CLI's own environment (TEMPORAL_TLS*, TEMPORAL_API_KEY).
set -eu

ADDRESS=${TEMPORAL_ADDRESS:-temporal:7233}
NAMESPACE=${TEMPORAL_NAMESPACE:-default}
RETENTION=${TEMPORAL_NAMESPACE_RETENTION:-72h}
# false where namespaces are made elsewhere (Temporal Cloud): then it must exist
CREATE_NAMESPACE=${TEMPORAL_CREATE_NAMESPACE:-true}
ATTEMPTS=${SETUP_ATTEMPTS:-60}

# retry CMD...: run CMD until it succeeds, at most $ATTEMPTS times, 2 s apart.
retry() {
  n=1
  until "$@"; do
    if [ "$n" -ge "$ATTEMPTS" ]; then
      echo "setup: giving up after $n attempts: $*" >&2
      return 1
    fi
    n=$((n + 1))
    sleep 2
  done
}

has_tenant_attribute() {
  temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS" \
    | grep -qw Tenant
}

ensure_namespace() {
  if temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1; then
    return 0
  fi
  if [ "$CREATE_NAMESPACE" != "true" ]; then
    echo "setup: namespace $NAMESPACE does not exist (and TEMPORAL_CREATE_NAMESPACE=$CREATE_NAMESPACE)" >&2
    return 1
  fi
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" \
    --address "$ADDRESS"
}

ensure_tenant_attribute() {
  has_tenant_attribute \
    || temporal operator search-attribute create --name Tenant --type Keyword \
         --namespace "$NAMESPACE" --address "$ADDRESS"
}

echo "setup: waiting for Temporal at $ADDRESS"
retry temporal operator cluster health --address "$ADDRESS"
echo "setup: namespace $NAMESPACE"
retry ensure_namespace
echo "setup: search attribute Tenant (Keyword)"
retry ensure_tenant_attribute
retry has_tenant_attribute
echo "setup: done"
