{{/*
The chart name, overridable with nameOverride.
*/}}
{{- define "roomshard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name prefix of every object: the release name, plus the chart name unless the
release name already holds it. Truncated to 63 characters, the DNS label limit.
*/}}
{{- define "roomshard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The operator's name; the Deployment, Service, ServiceAccount and RBAC objects share it.
*/}}
{{- define "roomshard.operatorName" -}}
{{- printf "%s-operator" (include "roomshard.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The development Redis's name.
*/}}
{{- define "roomshard.redisName" -}}
{{- printf "%s-redis" (include "roomshard.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
chart label value: name-version.
*/}}
{{- define "roomshard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object of the release.
*/}}
{{- define "roomshard.labels" -}}
helm.sh/chart: {{ include "roomshard.chart" . }}
app.kubernetes.io/name: {{ include "roomshard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: roomshard
{{- end }}

{{/*
Selector labels of the operator Pods (immutable once installed: keep them few).
*/}}
{{- define "roomshard.operatorSelectorLabels" -}}
app.kubernetes.io/name: {{ include "roomshard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
Selector labels of the development Redis Pod.
*/}}
{{- define "roomshard.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "roomshard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end }}

{{/*
The operator's ServiceAccount name.
*/}}
{{- define "roomshard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "roomshard.operatorName" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Roomshard image reference: repository@digest, else repository:tag (tag defaults to
the chart's appVersion).
*/}}
{{- define "roomshard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The default Redis URL the operator hands to RoomShardSets without spec.redis: the
configured URL, else the development Redis when it is enabled, else empty.
*/}}
{{- define "roomshard.defaultRedisUrl" -}}
{{- if .Values.operator.redisUrl }}
{{- .Values.operator.redisUrl }}
{{- else if .Values.redis.enabled }}
{{- printf "redis://%s.%s.svc:%d" (include "roomshard.redisName" .) .Release.Namespace (int .Values.redis.port) }}
{{- end }}
{{- end }}
