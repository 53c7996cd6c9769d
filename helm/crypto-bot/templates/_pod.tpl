{{/*
The pod template every component shares. Called with
  dict "root" $ "component" "engine" "spec" .Values.engine
Init containers: one per entry of `plugins` (copies its image's /plugin into
the staging volume), then the install step; the main container reads plugins
from the install target, mounted read-only.
*/}}
{{- define "crypto-bot.podTemplate" -}}
{{- $root := .root -}}
{{- $spec := .spec -}}
{{- $hostImage := include "crypto-bot.imageRef" $root.Values.image -}}
metadata:
  labels:
    {{- include "crypto-bot.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
  annotations:
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    {{- with $spec.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "crypto-bot.serviceAccountName" $root }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  initContainers:
    {{- range $root.Values.plugins }}
    - name: {{ include "crypto-bot.pluginInitName" .name }}
      image: {{ include "crypto-bot.imageRef" .image }}
      imagePullPolicy: {{ .image.pullPolicy | default "IfNotPresent" }}
      command: ["cp", "-R", "/plugin/.", "/staging/"]
      securityContext:
        {{- toYaml $root.Values.containerSecurityContext | nindent 8 }}
      resources:
        {{- toYaml $root.Values.pluginInitResources | nindent 8 }}
      volumeMounts:
        - name: plugin-staging
          mountPath: /staging
          subPath: {{ .name }}
    {{- end }}
    - name: install-plugins
      image: {{ $hostImage }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      command:
        - python
        - -m
        - crypto_bot_core.deploy.install_plugins
        - --staging=/staging
        - --target=/opt/cryptobot/plugins
        - --lock=/etc/cryptobot/plugins.json
        {{- if $root.Values.pluginInstall.allowRefused }}
        - --allow-refused
        {{- end }}
      securityContext:
        {{- toYaml $root.Values.containerSecurityContext | nindent 8 }}
      resources:
        {{- toYaml $root.Values.pluginInstall.resources | nindent 8 }}
      volumeMounts:
        - {name: plugin-staging, mountPath: /staging, readOnly: true}
        - {name: plugins, mountPath: /opt/cryptobot/plugins}
        - {name: config, mountPath: /etc/cryptobot, readOnly: true}
        - {name: tmp, mountPath: /tmp}
  containers:
    - name: {{ .component }}
      image: {{ $hostImage }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args:
        {{- toYaml $spec.args | nindent 8 }}
      ports:
        - name: http
          containerPort: {{ $spec.port }}
          protocol: TCP
      env:
        - {name: CRYPTOBOT_COMPONENT, value: {{ .component | quote }}}
        - {name: CRYPTOBOT_CLUSTER, value: {{ $root.Values.cluster.name | quote }}}
        - {name: CRYPTOBOT_TRACK, value: {{ ternary "canary" "stable" $root.Values.canary.enabled | quote }}}
        {{- with $root.Values.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- $secretName := include "crypto-bot.secretName" $root }}
      {{- if $secretName }}
      envFrom:
        - secretRef:
            name: {{ $secretName }}
      {{- end }}
      livenessProbe:
        httpGet: {path: {{ $spec.probes.liveness.path }}, port: http}
        initialDelaySeconds: {{ $spec.probes.liveness.initialDelaySeconds }}
        periodSeconds: {{ $spec.probes.liveness.periodSeconds }}
        failureThreshold: {{ $spec.probes.liveness.failureThreshold }}
      readinessProbe:
        httpGet: {path: {{ $spec.probes.readiness.path }}, port: http}
        initialDelaySeconds: {{ $spec.probes.readiness.initialDelaySeconds }}
        periodSeconds: {{ $spec.probes.readiness.periodSeconds }}
        failureThreshold: {{ $spec.probes.readiness.failureThreshold }}
      securityContext:
        {{- toYaml $root.Values.containerSecurityContext | nindent 8 }}
      resources:
        {{- $resources := deepCopy $spec.resources }}
        {{- if gt (int $spec.gpu) 0 }}
        {{- $limits := merge (dict "nvidia.com/gpu" (toString $spec.gpu)) ($resources.limits | default dict) }}
        {{- $_ := set $resources "limits" $limits }}
        {{- end }}
        {{- toYaml $resources | nindent 8 }}
      volumeMounts:
        - {name: plugins, mountPath: /opt/cryptobot/plugins, readOnly: true}
        - {name: config, mountPath: /etc/cryptobot, readOnly: true}
        - {name: data, mountPath: /var/lib/cryptobot}
        - {name: tmp, mountPath: /tmp}
  volumes:
    - name: plugin-staging
      emptyDir: {sizeLimit: 512Mi}
    - name: plugins
      emptyDir: {sizeLimit: 1Gi}
    - name: config
      configMap:
        name: {{ include "crypto-bot.fullname" $root }}-config
    - name: data
      emptyDir: {sizeLimit: 2Gi}
    - name: tmp
      emptyDir: {sizeLimit: 256Mi}
  {{- with $spec.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $spec.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $spec.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: topology.kubernetes.io/zone
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "crypto-bot.componentSelector" . | nindent 10 }}
{{- end -}}
