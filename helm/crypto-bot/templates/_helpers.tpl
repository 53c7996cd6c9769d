{{/* Names, labels and the pieces every component shares. */}}

{{- define "crypto-bot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "crypto-bot.fullname" -}}
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

{{- define "crypto-bot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "crypto-bot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "crypto-bot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "crypto-bot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: crypto-bot
{{- with .Values.cluster.name }}
crypto-bot.dev/cluster: {{ . }}
{{- end }}
{{- if .Values.canary.enabled }}
crypto-bot.dev/track: canary
{{- else }}
crypto-bot.dev/track: stable
{{- end }}
{{- end -}}

{{/* The image reference: repository@digest when a digest is given, else repository:tag. */}}
{{- define "crypto-bot.imageRef" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}
{{- end -}}

{{- define "crypto-bot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "crypto-bot.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "crypto-bot.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else if .Values.secrets.create -}}
{{- printf "%s-secrets" (include "crypto-bot.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/*
The cryptobot config: `config` from the values, then each plugin's instances
appended to their sections, `plugin:` defaulting to the plugin's name.
*/}}
{{- define "crypto-bot.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- range $section := list "data_sources" "agents" "exchanges" "risk_rules" "reporters" -}}
{{- $items := list -}}
{{- range (get $config $section | default list) -}}
{{- $items = append $items . -}}
{{- end -}}
{{- range $plugin := $.Values.plugins -}}
{{- range $instance := (get ($plugin.config | default dict) $section | default list) -}}
{{- $items = append $items (merge (deepCopy $instance) (dict "plugin" $plugin.name)) -}}
{{- end -}}
{{- end -}}
{{- if $items -}}
{{- $_ := set $config $section $items -}}
{{- end -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* plugins.json for the install step: expected plugins, digest pins, signing keys. */}}
{{- define "crypto-bot.pluginLock" -}}
{{- $plugins := list -}}
{{- range .Values.plugins -}}
{{- $plugins = append $plugins (dict "name" .name "sha256" (.sha256 | default dict)) -}}
{{- end -}}
{{- $signatures := dict "required" .Values.pluginSignatures.required "public_keys" .Values.pluginSignatures.publicKeys -}}
{{- dict "plugins" $plugins "signatures" $signatures | toPrettyJson -}}
{{- end -}}

{{/* Labels of one component's pods: the release's selector labels plus the component. */}}
{{- define "crypto-bot.componentSelector" -}}
{{ include "crypto-bot.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "crypto-bot.componentName" -}}
{{- printf "%s-%s" (include "crypto-bot.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The enabled components as a JSON list of {"component", "spec"}: the engine,
the API and each worker pool ("worker-<pool>"). Every workload template
ranges over it, so all components get the same pod shape.
*/}}
{{- define "crypto-bot.componentList" -}}
{{- $components := list -}}
{{- if .Values.engine.enabled -}}
{{- $components = append $components (dict "component" "engine" "spec" .Values.engine) -}}
{{- end -}}
{{- if .Values.api.enabled -}}
{{- $components = append $components (dict "component" "api" "spec" .Values.api) -}}
{{- end -}}
{{- if .Values.workers.enabled -}}
{{- range .Values.workers.pools -}}
{{- $components = append $components (dict "component" (printf "worker-%s" .name) "spec" .) -}}
{{- end -}}
{{- end -}}
{{- toJson $components -}}
{{- end -}}

{{/* A plugin's init container name: "plugin-<name>", cut to a DNS label's 63 characters. */}}
{{- define "crypto-bot.pluginInitName" -}}
{{- printf "plugin-%s" . | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Checks of `plugins` the values schema cannot express; each failure stops the
render (helm install, upgrade, template and lint) with a message naming the
entries. Included by configmap.yaml, which every release renders.
- A name listed twice would give two init containers and two staging
  directories one name.
- Two long names may differ only after the 56th character: their init
  containers would share one name.
- Built-in names are reserved: the host image has those plugins, and the
  install step and the host refuse a newcomer under such a name.
- A plugin image given by tag only can be moved to an image whose wheels and
  SHA256SUMS were both forged; unless allowUnpinnedImages is true, every
  plugin image must be pinned by digest.
The reserved names are crypto_bot_core.host.reserved.RESERVED_PLUGIN_NAMES
(tests/deploy/test_chart_guards.py keeps both lists equal).
*/}}
{{- define "crypto-bot.checkPlugins" -}}
{{- $reserved := list "fixed-selector" "paper-exchange" "replay" "risk-engine" "standard-oversight" "standard-reporters" "standard-risk" "synthetic-market" "technical-agents" -}}
{{- $names := dict -}}
{{- $inits := dict -}}
{{- range $index, $plugin := .Values.plugins -}}
{{- if hasKey $names $plugin.name -}}
{{- fail (printf "plugins[%v] and plugins[%d] are both named %q: each plugin appears once under plugins: (its image gives one init container and one staging directory of that name); remove or rename one" (get $names $plugin.name) $index $plugin.name) -}}
{{- end -}}
{{- $_ := set $names $plugin.name $index -}}
{{- if has $plugin.name $reserved -}}
{{- fail (printf "plugins[%d].name %q is the name of a built-in plugin of crypto-bot-core, which the host image already has; built-in names are reserved (the install step and the host refuse such a plugin): give the plugin a name of its own, or drop the entry to use the built-in" $index $plugin.name) -}}
{{- end -}}
{{- $init := include "crypto-bot.pluginInitName" $plugin.name -}}
{{- if hasKey $inits $init -}}
{{- $other := get $inits $init -}}
{{- fail (printf "plugins[%v] (%s) and plugins[%d] (%s) would both get the init container name %q (names are cut to 63 characters after the prefix plugin-); shorten one so that they differ within their first 56 characters" (index $other 0) (index $other 1) $index $plugin.name $init) -}}
{{- end -}}
{{- $_ := set $inits $init (list $index $plugin.name) -}}
{{- if and (not $.Values.allowUnpinnedImages) (not $plugin.image.digest) -}}
{{- fail (printf "plugins[%d] (%s): image %s:%v is given by tag only; a tag can be moved to an image with forged wheels and a matching SHA256SUMS, so this chart requires plugin images pinned by digest: set plugins[%d].image.digest to the image's sha256:... digest (e.g. from `crane digest IMAGE:TAG`), or set allowUnpinnedImages: true to accept tags" $index $plugin.name $plugin.image.repository $plugin.image.tag $index) -}}
{{- end -}}
{{- end -}}
{{- end -}}
