#!/usr/bin/env bash
# Runs the load test Job (this folder) on the current kubectl context and waits for its outcome:
#   bash deploy/k8s/load/run.sh [IMAGE]
# IMAGE is the load image to run (default: medical/load:latest, the local overlay's); the CI/CD
# pipelines pass <registry>.azurecr.io/medical/load:<tag>. The Job of an earlier run is deleted
# first (a Job's template cannot change). Prints the Job's output (the load summary) and exits
# 0 when the Job completed, 1 when it failed (errors or 5xx answers, or its deadline passed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
namespace=medical
image="${1:-}"
kustomize_bin="${KUSTOMIZE:-kustomize}"

rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT
cp "$here"/kustomization.yaml "$here"/job.yaml "$rendered"/
if [ -n "$image" ]; then
  # Edit a copy: the repository's kustomization keeps the local image name.
  (cd "$rendered" && "$kustomize_bin" edit set image "medical/load=$image")
fi

kubectl -n "$namespace" delete job load --ignore-not-found --wait=true
kubectl apply -k "$rendered"

# Complete or Failed, whichever comes first; the Job's own deadline is 300 s.
outcome=timeout
deadline=$((SECONDS + 420))
while [ "$SECONDS" -lt "$deadline" ]; do
  conditions="$(kubectl -n "$namespace" get job load -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')"
  case " $conditions " in
    *" Complete "*) outcome=complete; break ;;
    *" Failed "*) outcome=failed; break ;;
  esac
  sleep 5
done

kubectl -n "$namespace" logs job/load -c load --tail=-1 || true
echo "load Job: $outcome"
[ "$outcome" = complete ]
