{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "durable-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Release-qualified name. Components append "-api", "-worker-llm", ... so the
base is cut to 50 characters to leave room for the longest suffix.
*/}}
{{- define "durable-agent.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "durable-agent.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "durable-agent.labels" -}}
helm.sh/chart: {{ include "durable-agent.chart" . }}
{{ include "durable-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: durable-agent
{{- end }}

{{- define "durable-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "durable-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Per-component labels. Call with (dict "root" $ "component" "api").
*/}}
{{- define "durable-agent.componentLabels" -}}
{{ include "durable-agent.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "durable-agent.componentSelectorLabels" -}}
{{ include "durable-agent.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
The components this release runs, as YAML: component name -> its values key.
Templates iterate over it with `include ... | fromYaml`.
*/}}
{{- define "durable-agent.components" -}}
api: api
worker-llm: workerLlm
worker-tools: workerTools
{{- if .Values.fakeLlm.enabled }}
fake-llm: fakeLlm
{{- end }}
{{- end }}

{{/* Container ports of each component (fixed by its image). */}}
{{- define "durable-agent.ports" -}}
{{- if eq . "api" }}
- name: http
  containerPort: 8000
  protocol: TCP
- name: metrics
  containerPort: 9100
  protocol: TCP
{{- else if eq . "fake-llm" }}
- name: http
  containerPort: 8080
  protocol: TCP
{{- else }}
- name: metrics
  containerPort: 9100
  protocol: TCP
- name: sdk-metrics
  containerPort: 9101
  protocol: TCP
{{- end }}
{{- end }}

{{/* Console script each image runs (a [project.scripts] entry of its member). */}}
{{- define "durable-agent.command" -}}
{{- if eq . "api" }}["agent-api"]
{{- else if eq . "worker-llm" }}["worker-llm"]
{{- else if eq . "worker-tools" }}["worker-tools"]
{{- else if eq . "fake-llm" }}["fake-llm", "--host", "0.0.0.0", "--port", "8080"]
{{- end }}
{{- end }}

{{/*
Image reference: [image.registry/]repository:tag, or repository@digest when the
component sets image.digest. Nobody publishes durable-agent images, so a
repository with no registry in front of it (image.registry, or a host in the
repository itself) fails the render instead of pulling a name from Docker Hub
that nobody owns. Call with (dict "root" $ "image" .Values.api.image "key" "api").
*/}}
{{- define "durable-agent.image" -}}
{{- $registry := trimSuffix "/" .root.Values.image.registry }}
{{- $repo := .image.repository }}
{{- $parts := splitList "/" $repo }}
{{- $host := first $parts }}
{{- $qualified := and (gt (len $parts) 1) (or (contains "." $host) (contains ":" $host) (eq $host "localhost")) }}
{{- if not (or $registry $qualified) }}
{{- fail (printf "image.registry is required: nobody publishes %s, so build and push the images first (docker build --target <component> -t REGISTRY/durable-agent/<component>:TAG . for api, worker-llm, worker-tools, fake-llm; see the chart README, Install), then set image.registry=REGISTRY and image.tag=TAG. Images loaded into kind or minikube by hand: image.registry=docker.io. Or give %s.image.repository a registry host." $repo .key) }}
{{- end }}
{{- $name := ternary (printf "%s/%s" $registry $repo) $repo (not (empty $registry)) }}
{{- if .image.digest }}
{{- printf "%s@%s" $name .image.digest }}
{{- else }}
{{- printf "%s:%s" $name (.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion) }}
{{- end }}
{{- end }}

{{- define "durable-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "durable-agent.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "durable-agent.secretName" -}}
{{- default (include "durable-agent.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "durable-agent.configMapName" -}}
{{- printf "%s-config" (include "durable-agent.fullname" .) }}
{{- end }}

{{- /* mcpServers: its ConfigMap, the directory it is mounted at, the file in it. */}}
{{- define "durable-agent.mcpConfigMapName" -}}
{{- printf "%s-mcp" (include "durable-agent.fullname" .) }}
{{- end }}

{{- define "durable-agent.mcpDir" -}}
/etc/durable-agent/mcp
{{- end }}

{{- define "durable-agent.mcpServersKey" -}}
mcp-servers.json
{{- end }}

{{- define "durable-agent.mcpServersFile" -}}
{{- printf "%s/%s" (include "durable-agent.mcpDir" .) (include "durable-agent.mcpServersKey" .) }}
{{- end }}

{{- define "durable-agent.fakeLlmBaseUrl" -}}
{{- printf "http://%s-fake-llm:8080/v1" (include "durable-agent.fullname" .) }}
{{- end }}

{{/*
The object store's settings, checked: one S3 bucket for every component (no
per-pod directory), and at most one source of S3 credentials. Included by the
ConfigMap, which every release renders.
*/}}
{{- define "durable-agent.storageUrl" -}}
{{- $s := .Values.storage }}
{{- if not $s.bucket }}
{{- fail "storage.bucket is required: the S3 bucket that api, worker-llm and worker-tools share (Temporal payloads over storage.payloadThresholdBytes, transcript pages, the side-effect ledger). Create it first; see the chart README, Storage." }}
{{- end }}
{{- if and $s.s3.existingSecret (or $s.s3.accessKeyId $s.s3.secretAccessKey) }}
{{- fail "storage.s3: set existingSecret or accessKeyId/secretAccessKey, not both" }}
{{- end }}
{{- if ne (empty $s.s3.accessKeyId) (empty $s.s3.secretAccessKey) }}
{{- fail "storage.s3: accessKeyId and secretAccessKey go together (neither: boto's credential chain, e.g. IRSA)" }}
{{- end }}
{{- if and .Values.secrets.existingSecret $s.s3.accessKeyId }}
{{- fail "storage.s3.accessKeyId/secretAccessKey are not used with secrets.existingSecret (the chart creates no Secret): put them in that Secret as STORAGE_S3_ACCESS_KEY_ID / STORAGE_S3_SECRET_ACCESS_KEY, or name a Secret in storage.s3.existingSecret" }}
{{- end }}
{{- printf "s3://%s" $s.bucket }}
{{- end }}

{{/*
The S3 key pair of the object store, for every component but the fake LLM:
from storage.s3.existingSecret (its keys required), else the optional
STORAGE_S3_* keys of the chart's Secret; absent keys leave boto's chain (IRSA).
*/}}
{{- define "durable-agent.storageSecretEnv" -}}
{{- $s3 := .Values.storage.s3 }}
{{- $pairs := list (list "STORAGE_S3_ACCESS_KEY_ID" $s3.accessKeyIdKey) (list "STORAGE_S3_SECRET_ACCESS_KEY" $s3.secretAccessKeyKey) }}
{{- range $pairs }}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      {{- if $s3.existingSecret }}
      name: {{ $s3.existingSecret }}
      key: {{ index . 1 }}
      optional: false
      {{- else }}
      name: {{ include "durable-agent.secretName" $ }}
      key: {{ index . 0 }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}

{{/*
Environment entries read from the Secret, per component: each gets only what it
uses. REDIS_URL is required; the others are optional keys. All three get the
object store's key pair (durable-agent.storageSecretEnv).
*/}}
{{- define "durable-agent.secretEnv" -}}
{{- $secret := include "durable-agent.secretName" .root }}
{{- $keys := list }}
{{- if eq .component "api" }}
{{- $keys = list "REDIS_URL" "TEMPORAL_API_KEY" "API_KEYS" }}
{{- else if eq .component "worker-llm" }}
{{- $keys = list "REDIS_URL" "TEMPORAL_API_KEY" "LLM_API_KEY" }}
{{- else if eq .component "worker-tools" }}
{{- $keys = list "REDIS_URL" "TEMPORAL_API_KEY" }}
{{- end }}
{{- range $keys }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
      optional: {{ ne . "REDIS_URL" }}
{{- end }}
{{- if $keys }}
{{- include "durable-agent.storageSecretEnv" .root }}
{{- end }}
{{- end }}

{{/*
envFrom of a component's container: the shared ConfigMap (not for the fake
LLM, which reads no settings) and the component's extraEnvFrom.
Call with (dict "root" $ "component" "api").
*/}}
{{- define "durable-agent.envFrom" -}}
{{- $c := index .root.Values (index (include "durable-agent.components" .root | fromYaml) .component) }}
{{- if ne .component "fake-llm" }}
- configMapRef:
    name: {{ include "durable-agent.configMapName" .root }}
{{- end }}
{{- with $c.extraEnvFrom }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
env of a component's container: listen/metrics ports fixed by the chart, the
Temporal mTLS file paths, the component's Secret keys, then its extraEnv.
*/}}
{{- define "durable-agent.env" -}}
{{- $root := .root }}
{{- $c := index $root.Values (index (include "durable-agent.components" $root | fromYaml) .component) }}
{{- if eq .component "api" }}
- name: API_HOST
  value: "0.0.0.0"
- name: API_PORT
  value: "8000"
- name: METRICS_PORT
  value: "9100"
{{- else if ne .component "fake-llm" }}
- name: METRICS_PORT
  value: "9100"
- name: TEMPORAL_METRICS_PORT
  value: "9101"
{{- /* drain in-flight activities on SIGTERM, 5 s inside the pod's grace period */}}
- name: WORKER_SHUTDOWN_GRACE_SECONDS
  value: {{ max 0 (sub (int $c.terminationGracePeriodSeconds) 5) | quote }}
{{- end }}
{{- if eq .component "worker-llm" }}
- name: LITELLM_LOCAL_MODEL_COST_MAP
  value: "True"
{{- end }}
{{- if and (ne .component "fake-llm") $root.Values.temporal.tls.secretName }}
- name: TEMPORAL_TLS_CERT
  value: /etc/temporal-tls/{{ $root.Values.temporal.tls.certKey }}
- name: TEMPORAL_TLS_KEY
  value: /etc/temporal-tls/{{ $root.Values.temporal.tls.keyKey }}
{{- with $root.Values.temporal.tls.caKey }}
- name: TEMPORAL_TLS_CA
  value: /etc/temporal-tls/{{ . }}
{{- end }}
{{- end }}
{{- include "durable-agent.secretEnv" . }}
{{- with $c.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
topologySpreadConstraints of a component: its own list when it sets one, else
(topologySpread.enabled) one soft constraint per topologySpread.topologyKeys,
so replicas spread across zones and nodes where the cluster has them and still
schedule where it does not (ScheduleAnyway). Call with (dict "root" $ "component" "api").
*/}}
{{- define "durable-agent.topologySpread" -}}
{{- $c := index .root.Values (index (include "durable-agent.components" .root | fromYaml) .component) }}
{{- $ts := .root.Values.topologySpread }}
{{- if $c.topologySpreadConstraints }}
{{- toYaml $c.topologySpreadConstraints }}
{{- else if $ts.enabled }}
{{- range $ts.topologyKeys }}
- maxSkew: {{ $ts.maxSkew }}
  topologyKey: {{ . }}
  whenUnsatisfiable: {{ $ts.whenUnsatisfiable }}
  labelSelector:
    matchLabels:
      {{- include "durable-agent.componentSelectorLabels" $ | nindent 6 }}
{{- end }}
{{- end }}
{{- end }}
