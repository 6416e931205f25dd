{{/* Names, labels and derived values shared by every template. */}}

{{- define "trimserve.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "trimserve.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "trimserve.selectorLabels" -}}
app.kubernetes.io/name: {{ include "trimserve.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "trimserve.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "trimserve.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "trimserve.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "trimserve.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image: the GPU build by default, the CPU build (tag suffix -cpu) without a GPU. */}}
{{- define "trimserve.image" -}}
{{- $tag := .Values.image.tag | default (printf "%s%s" .Chart.AppVersion (ternary "" "-cpu" .Values.gpu.enabled)) -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{/* The Secret holding API keys: the chart's own or an existing one. */}}
{{- define "trimserve.apiKeysSecret" -}}
{{- .Values.apiKeys.existingSecret | default (printf "%s-api-keys" (include "trimserve.fullname" .)) -}}
{{- end -}}

{{/* Where the pod mounts things (the daemon's config refers to these paths). */}}
{{- define "trimserve.configDir" -}}/etc/trimserve{{- end -}}
{{- define "trimserve.apiKeysDir" -}}/etc/trimserve/api-keys{{- end -}}
{{- define "trimserve.dataDir" -}}/var/lib/trimserve{{- end -}}

{{/* Drain: the daemon's server.drain_timeout_s (seconds) as an integer. */}}
{{- define "trimserve.drainSeconds" -}}
{{- $server := .Values.config.server | default dict -}}
{{- int ($server.drain_timeout_s | default 30) -}}
{{- end -}}

{{/*
The daemon's YAML config: values.config with what the chart owns filled in — listen on all
interfaces at the container ports, tenants with their keys read from the mounted Secret, and
the session directory on the persistent volume when persistence is on.
*/}}
{{- define "trimserve.daemonConfig" -}}
{{- $cfg := deepCopy (.Values.config | default dict) -}}
{{- $server := get $cfg "server" | default dict -}}
{{- $_ := set $server "host" "0.0.0.0" -}}
{{- $_ := set $server "port" (int .Values.ports.http) -}}
{{- $_ := set $server "grpc_port" (int .Values.ports.grpc) -}}
{{- $_ := set $cfg "server" $server -}}
{{- if .Values.model.path -}}
{{- $model := get $cfg "model" | default dict -}}
{{- $_ := set $model "path" .Values.model.path -}}
{{- $_ := set $cfg "model" $model -}}
{{- end -}}
{{- if and .Values.persistence.enabled .Values.persistence.sessions -}}
{{- $kv := get $cfg "kvpool" | default dict -}}
{{- $sessions := get $kv "sessions" | default dict -}}
{{- $_ := set $sessions "dir" (printf "%s/sessions" (include "trimserve.dataDir" .)) -}}
{{- $_ := set $kv "sessions" $sessions -}}
{{- $_ := set $cfg "kvpool" $kv -}}
{{- end -}}
{{- $tenants := list -}}
{{- range .Values.tenants -}}
{{- $t := deepCopy . -}}
{{- $_ := set $t "api_keys_file" (printf "%s/%s" (include "trimserve.apiKeysDir" $) .name) -}}
{{- $tenants = append $tenants $t -}}
{{- end -}}
{{- if $tenants -}}
{{- $_ := set $cfg "tenants" $tenants -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}
