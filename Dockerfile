# The toil-ts appliance: one image, two roles (TOIL_ROLE=leader|worker), two engines.
# Real Mesos binaries are not built here: they come from MESOS_BASE, an image that already has
# mesos-master/mesos-agent installed (build arg; the default is a plain Node image, in which case
# the leader talks to an external master and workers run the Node agent of the local cloud).
# Slurm comes from Debian bookworm (22.05): slurmctld (leader), slurmd (workers), the client tools
# the leader's daemon runs (sbatch, squeue, scontrol…), and munge for their authentication
# (`toil slurm-controller` / `toil slurm-node`, docs/slurm.md).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG MESOS_BASE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
COPY bin ./bin
COPY config ./config
RUN npm run build && npm prune --omit=dev

FROM ${MESOS_BASE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    TOIL_ROLE=leader \
    TOIL_LEADER_CONFIG=/etc/toil/leader.yaml
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/config ./config
COPY static ./static
COPY --from=build /app/package.json ./package.json
COPY config/aws.example.yaml /etc/toil/leader.yaml
# The worker role runs Mesos tasks that may need a writable scratch dir; the leader needs none.
RUN mkdir -p /var/lib/toil && chown node:node /var/lib/toil
# The container starts as root so TOIL_CUSTOM_DOCKER_INIT_COMMAND runs as root, as Toil runs it (to
# install packages, log in to a registry); the entrypoint then runs the service as
# TOIL_SERVICE_USER (a Slurm unit sets root: its daemons need it).
ENV TOIL_SERVICE_USER=node
EXPOSE 8080
# Only the leader serves /healthz; a worker is healthy while its process runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD if [ "$TOIL_ROLE" = "leader" ]; then node -e "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; else exit 0; fi
# exec form through sh so SIGTERM reaches the process (exec replaces the shell, setpriv execs
# too). First Toil's TOIL_CUSTOM_DOCKER_INIT_COMMAND, if set (a node's units pass it), as the
# container's user (root unless `docker run --user`): the service starts whatever it does, as in
# Toil. Then the service, as TOIL_SERVICE_USER when the container runs as root. No command: the
# role's default (the leader's daemon). `toil ARGS…` (the units' form): the toil command. A program
# of the image (mesos-master, slurmd…): that program. Anything else: toil's sub-command.
ENTRYPOINT ["/bin/sh", "-c", "if [ -n \"$TOIL_CUSTOM_DOCKER_INIT_COMMAND\" ]; then bash -c \"$TOIL_CUSTOM_DOCKER_INIT_COMMAND\"; fi; as=; if [ \"$(id -u)\" = 0 ] && [ -n \"$TOIL_SERVICE_USER\" ] && [ \"$TOIL_SERVICE_USER\" != root ]; then HOME=$(getent passwd \"$TOIL_SERVICE_USER\" | cut -d: -f6); export HOME; as=\"setpriv --reuid=$(id -u \"$TOIL_SERVICE_USER\") --regid=$(id -g \"$TOIL_SERVICE_USER\") --init-groups --\"; fi; if [ $# -eq 0 ] && [ \"$TOIL_ROLE\" = leader ]; then exec $as node bin/toil.js leader --config \"$TOIL_LEADER_CONFIG\"; elif [ \"$1\" = toil ]; then shift; exec $as node bin/toil.js \"$@\"; elif [ $# -gt 0 ] && command -v \"$1\" >/dev/null; then exec $as \"$@\"; else exec $as node bin/toil.js \"$@\"; fi", "toil"]
