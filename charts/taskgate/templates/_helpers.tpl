{{/* The name of taskgate's objects: the release name, unless it already says taskgate. */}}
{{- define "taskgate.fullname" -}}
{{- if contains "taskgate" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-taskgate" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "taskgate.labels" -}}
app.kubernetes.io/name: taskgate
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Never admit objects in the system namespaces or taskgate's own; with
watchNamespaces, only in those. */}}
{{- define "taskgate.namespaceSelector" -}}
namespaceSelector:
  matchExpressions:
  {{- with .Values.watchNamespaces }}
  - key: kubernetes.io/metadata.name
    operator: In
    values: [{{ range $i, $ns := . }}{{ if $i }}, {{ end }}{{ $ns | quote }}{{ end }}]
  {{- end }}
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: [kube-system, kube-node-lease, {{ .Release.Namespace | quote }}]
{{- end -}}

{{/* Where the apiserver calls a webhook. With cert-manager the cainjector
fills in caBundle; without it the bundle comes from values. */}}
{{- define "taskgate.clientConfig" -}}
clientConfig:
  service:
    name: {{ include "taskgate.fullname" .root }}-webhook
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path }}
    port: 443
  {{- if not .root.Values.certManager.enabled }}
  caBundle: {{ include "taskgate.caBundle" .root }}
  {{- end }}
{{- end -}}

{{/* Annotations of both webhook configurations: the cainjector copies the
serving Certificate's CA into them. */}}
{{- define "taskgate.webhookAnnotations" -}}
{{- if .Values.certManager.enabled -}}
annotations:
  cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "taskgate.servingCertificate" .) }}
{{- end -}}
{{- end -}}

{{/* The labels that select the manager's pods; never change them, a
Deployment's selector is immutable. */}}
{{- define "taskgate.selectorLabels" -}}
app.kubernetes.io/name: taskgate
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end -}}

{{- define "taskgate.serviceAccountName" -}}
{{- include "taskgate.fullname" . -}}
{{- end -}}

{{/* The image, by digest when one is given. */}}
{{- define "taskgate.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* The cert-manager Certificate that serves the webhooks. */}}
{{- define "taskgate.servingCertificate" -}}
{{- printf "%s-webhook" (include "taskgate.fullname" .) -}}
{{- end -}}

{{/* The Secret that holds the webhook serving certificate. */}}
{{- define "taskgate.certSecretName" -}}
{{- if .Values.certManager.enabled -}}
{{- printf "%s-webhook-tls" (include "taskgate.fullname" .) -}}
{{- else -}}
{{- required "certificate.secretName is required when certManager.enabled is false: the name of a kubernetes.io/tls Secret with the webhook serving certificate (see docs/install.md)" .Values.certificate.secretName -}}
{{- end -}}
{{- end -}}

{{/* The CA bundle written into the webhook configurations without
cert-manager: base64 of PEM, checked to decode to a certificate. */}}
{{- define "taskgate.caBundle" -}}
{{- $b := required "certificate.caBundle is required when certManager.enabled is false: the base64-encoded PEM of the CA that signed the serving certificate (see docs/install.md)" .Values.certificate.caBundle -}}
{{- if not (contains "-----BEGIN CERTIFICATE-----" (b64dec $b)) -}}
{{- fail "certificate.caBundle must be base64-encoded PEM (base64 -w0 ca.crt): it does not decode to a PEM certificate" -}}
{{- end -}}
{{- $b -}}
{{- end -}}

{{/* The whole seconds in a Go duration of h, m, s and ms parts ("1m30s"),
rounding milliseconds up. values.schema.json admits only such durations. */}}
{{- define "taskgate.seconds" -}}
{{- $total := 0 -}}
{{- range regexFindAll "[0-9]+(ms|h|m|s)" . -1 -}}
{{- $n := regexFind "^[0-9]+" . -}}
{{- $unit := trimPrefix $n . -}}
{{- if eq $unit "h" -}}{{- $total = add $total (mul $n 3600) -}}
{{- else if eq $unit "m" -}}{{- $total = add $total (mul $n 60) -}}
{{- else if eq $unit "s" -}}{{- $total = add $total $n -}}
{{- else -}}{{- $total = add $total 1 -}}
{{- end -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/* One of the manager's Roles or its ClusterRole, named <fullname>-manager,
with its binding to the manager's ServiceAccount. Arguments: root, kind
(Role or ClusterRole), namespace (for a Role) and rules. */}}
{{- define "taskgate.managerRole" -}}
{{- $fullname := include "taskgate.fullname" .root }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ .kind }}
metadata:
  name: {{ $fullname }}-manager
  {{- if .namespace }}
  namespace: {{ .namespace }}
  {{- end }}
  labels: {{- include "taskgate.labels" .root | nindent 4 }}
rules: {{- toYaml .rules | nindent 0 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ .kind }}Binding
metadata:
  name: {{ $fullname }}-manager
  {{- if .namespace }}
  namespace: {{ .namespace }}
  {{- end }}
  labels: {{- include "taskgate.labels" .root | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ .kind }}
  name: {{ $fullname }}-manager
subjects:
- kind: ServiceAccount
  name: {{ include "taskgate.serviceAccountName" .root }}
  namespace: {{ .root.Release.Namespace }}
{{- end -}}
