{{/* The chart's name, for the app.kubernetes.io/name label: nameOverride,
else taskgate. */}}
{{- define "taskgate.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The name of taskgate's objects: fullnameOverride, else the release
name, unless it already says the chart's name, followed by it. */}}
{{- define "taskgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "taskgate.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "taskgate.labels" -}}
app.kubernetes.io/name: {{ include "taskgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The namespaceSelector of a Task, App or Job webhook: never
kube-system, kube-node-lease or the release namespace (the manager never
acts there either); with watchNamespaces, only those; and ANDed, the
webhook's own namespaceSelector value, if it has one. Arguments: root, and
hook, the webhook's values. */}}
{{- define "taskgate.namespaceSelector" -}}
{{- $root := .root -}}
{{- $extra := .hook.namespaceSelector | default dict -}}
namespaceSelector:
  {{- with $extra.matchLabels }}
  matchLabels: {{- toYaml . | nindent 4 }}
  {{- end }}
  matchExpressions:
  {{- with $root.Values.watchNamespaces }}
  - key: kubernetes.io/metadata.name
    operator: In
    values: [{{ range $i, $ns := . }}{{ if $i }}, {{ end }}{{ $ns | quote }}{{ end }}]
  {{- end }}
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: [kube-system, kube-node-lease, {{ $root.Release.Namespace | quote }}]
  {{- with $extra.matchExpressions }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* A webhook's objectSelector: the chart's own expressions (a list, may
be empty) and the webhook's objectSelector value, ANDed; nothing when both
are empty. Arguments: expressions, and hook, the webhook's values. */}}
{{- define "taskgate.objectSelector" -}}
{{- $extra := .hook.objectSelector | default dict -}}
{{- $expressions := concat (.expressions | default list) ($extra.matchExpressions | default list) -}}
{{- if or $expressions $extra.matchLabels -}}
objectSelector:
  {{- with $extra.matchLabels }}
  matchLabels: {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $expressions }}
  matchExpressions: {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}
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
app.kubernetes.io/name: {{ include "taskgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end -}}

{{/* The manager's ServiceAccount: the chart's (serviceAccount.name, else
the fullname), or with serviceAccount.create=false an existing one, which
must be named. Never a namespace's default ServiceAccount: every pod there
that names none would run with the manager's RBAC. */}}
{{- define "taskgate.serviceAccountName" -}}
{{- $name := .Values.serviceAccount.name -}}
{{- if not .Values.serviceAccount.create -}}
{{- $name = required "serviceAccount.name is required when serviceAccount.create is false: set it to an existing ServiceAccount in the release namespace for the manager, or set serviceAccount.create=true" $name -}}
{{- end -}}
{{- if eq $name "default" -}}
{{- fail "serviceAccount.name is \"default\": every pod in the release namespace that names no ServiceAccount would get the manager's RBAC; name a ServiceAccount only the manager uses" -}}
{{- end -}}
{{- $name | default (include "taskgate.fullname" .) -}}
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

{{/* The milliseconds in a Go duration of h, m, s and ms parts ("1m30s",
"30000ms"), exactly: values.schema.json admits only such durations. */}}
{{- define "taskgate.milliseconds" -}}
{{- $total := 0 -}}
{{- range regexFindAll "[0-9]+(ms|h|m|s)" . -1 -}}
{{- $n := regexFind "^[0-9]+" . | int64 -}}
{{- $unit := regexFind "(ms|h|m|s)$" . -}}
{{- $total = add $total (mul $n (get (dict "h" 3600000 "m" 60000 "s" 1000 "ms" 1) $unit)) -}}
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

{{/* The objectSelector requirement that keeps Jobs carrying the policy's
opt-out label from the Job webhook and the Job admission policies. */}}
{{- define "taskgate.jobOptOut" -}}
{{- toYaml (dict "key" (dig "exemptions" "optOutLabel" "taskgate.dev/policy" .Values.policy) "operator" "NotIn" "values" (list "disabled")) -}}
{{- end -}}

{{/* Who gives new Jobs their creation TTL, jobAdmission resolved: policy
or webhook. auto is policy where the cluster serves
MutatingAdmissionPolicy in admissionregistration.k8s.io/v1 (1.36+). */}}
{{- define "taskgate.jobAdmission" -}}
{{- $v := .Values.jobAdmission | default "auto" -}}
{{- if eq $v "auto" -}}
{{- ternary "policy" "webhook" (.Capabilities.APIVersions.Has "admissionregistration.k8s.io/v1/MutatingAdmissionPolicy") -}}
{{- else -}}
{{- $v -}}
{{- end -}}
{{- end -}}
