# shellcheck shell=bash
# Profiling scenarios, not in the default run (bench/run --scenarios "MEM PERF"):
#
# MEM: heap per idle TLS client connection, by allocation site.  Each
#   target (one worker, upstream MEM_MODE) runs under valgrind's massif; a
#   detailed snapshot is taken (vgdb) before and after MEM_N connections
#   are opened and left idle (variant idle: right after the handshake;
#   req: after one keep-alive request, i.e. parked), and
#   tools/massif_diff.py splits the growth per connection by what was
#   allocated (site) and by which of the program's functions asked (owner).
#
# PERF: where the CPU of S1 goes, kernel included.  perf record -e cpu-clock
#   (a software clock: works without hardware counters) -g on the target's
#   processes during PERF_SECS of S1 at the normal worker count; the report
#   gives the share per object (kernel, libcrypto, libssl, libc, libevent,
#   the program), the busiest symbols and the kernel time under each system
#   call entry.

mem_add_target() {   # PLUGIN
    local t="mem-$1"
    T_KIND[$t]=proxy; T_NAME[$t]=$1; T_MODE[$t]=$MEM_MODE; T_CTLS[$t]=tls12
    alloc_port; T_PORT[$t]=$ALLOCATED_PORT
    alloc_port; T_AUX[$t]=$ALLOCATED_PORT
    if [ "$MEM_MODE" = tls10 ]; then T_UPPORT[$t]=$BACKEND_TLS10_PORT; else T_UPPORT[$t]=$BACKEND_PLAIN_PORT; fi
    T_WORKDIR[$t]=$WD/proxies/$t
    T_WORKERS[$t]=1
    T_MAXCONN[$t]=$((MEM_N + 500))
    T_STATUS[$t]=ok
    MEM_TARGETS+=("$t")
}

# mem_main_pid TARGET: the process that holds the connections (nginx: its worker)
mem_main_pid() {
    local main=${T_PID[$1]} child
    child=$(ps -e -o pid=,ppid= | awk -v p="$main" '$2 == p { print $1; exit }')
    echo "${child:-$main}"
}

# mem_exe PID: the program valgrind runs in PID (for the owner breakdown)
mem_exe() {
    local prog
    prog=$(tr '\0' '\n' < "/proc/$1/cmdline" | awk '!/^-/ && !/valgrind/ { print; exit }')
    [[ $prog == /* ]] || prog=$(command -v "$prog")
    readlink -f "$prog"
}

mem_run() {   # TARGET VARIANT
    local t=$1 variant=$2 d=$WD/massif/$1.$2 o pid exe
    mkdir -p "$d" && chmod 1777 "$d"
    T_WRAP[$t]="valgrind --tool=massif --vgdb=yes --threshold=0.01 --depth=40 --massif-out-file=$d/massif.out.%p"
    if ! start_target "$t"; then T_WRAP[$t]=""; return 1; fi
    T_WRAP[$t]=""
    o=$WD/out/$t.mem.$variant
    "$TLSLOAD" ka -p "${T_PORT[$t]}" -t tls12 -c 4 -N 40 > "$o.warm" 2>&1   # pools and caches up
    sleep 1
    pid=$(mem_main_pid "$t")
    exe=$(mem_exe "$pid")
    vgdb --pid="$pid" detailed_snapshot "$d/before" > /dev/null 2>&1
    local -a qflag=()
    [ "$variant" = req ] && qflag=(-q)
    rm -f "$o.ready"
    "$TLSLOAD" idle -p "${T_PORT[$t]}" -n "$MEM_N" -c 16 -t tls12 -P /1k "${qflag[@]}" -R "$o.ready" -T 600 > "$o" 2> "$o.err" &
    local cpid=$! deadline=$((SECONDS + 300))
    track_pid "$WD/client.pids" "$cpid"
    while [ ! -s "$o.ready" ] && kill -0 "$cpid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.5; done
    sleep 2   # idle long enough to be parked (tlsbroker parks after 100 ms)
    vgdb --pid="$pid" detailed_snapshot "$d/after" > /dev/null 2>&1
    kill -TERM "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null
    untrack_pid "$WD/client.pids" "$cpid"
    stop_tree "${T_PID[$t]}" TERM 60
    untrack_pid "$WD/started.pids" "${T_PID[$t]}"
    T_PID[$t]=""
    local opened
    opened=$(kv opened < <(tail -n1 "$o"))
    if [ -s "$d/before" ] && [ -s "$d/after" ] && [ "${opened:-0}" -gt 0 ]; then
        python3 "$BENCH_DIR/tools/massif_diff.py" "$d/before" "$d/after" "$opened" "$exe" > "$o.diff"
        put "$t" "mem_${variant}_heap" "$(kv heap_per_conn_B < <(head -n1 "$o.diff"))"
        put "$t" "mem_${variant}_extra" "$(kv extra_per_conn_B < <(head -n1 "$o.diff"))"
    fi
    put "$t" "mem_${variant}_conns" "${opened:-0}/$MEM_N"
    log "  MEM $t ($variant): heap $(get "$t" "mem_${variant}_heap") B + malloc extra $(get "$t" "mem_${variant}_extra") B per connection over ${opened:-0} connections"
}

run_mem() {
    local t v
    for t in "${MEM_TARGETS[@]}"; do
        for v in idle req; do mem_run "$t" "$v"; done
    done
}

perf_run() {   # TARGET
    local t=$1 o=$WD/out/$1.perf p
    local -a pids=() envw
    for p in $(proc_tree "${T_PID[$t]}"); do pids+=("$p"); done
    read -r -a envw <<< "$(client_env "$t")"
    s1_warm "$t"
    perf record -q -e cpu-clock -F 1999 -g -p "$(IFS=,; echo "${pids[*]}")" -o "$o.data" > /dev/null 2>&1 &
    local ppid=$!
    track_pid "$WD/client.pids" "$ppid"
    sleep 0.5
    env "${envw[@]}" "${CLIENT_PIN[@]}" wrk -t1 -c"$S1_CONNS" -d"${PERF_SECS}s" "$(client_url "$t" /1k)" > "$o.wrk" 2>&1
    kill -INT "$ppid" 2>/dev/null; wait "$ppid" 2>/dev/null
    untrack_pid "$WD/client.pids" "$ppid"
    perf report -i "$o.data" --no-children --stdio -g none --sort dso 2>/dev/null |
        awk '!/^#/ && NF { print }' | head -n 12 > "$o.dso"
    perf report -i "$o.data" --no-children --stdio -g none --sort dso,sym 2>/dev/null |
        awk '!/^#/ && NF { print }' | head -n 30 > "$o.sym"
    # kernel time under each system call (inclusive; read/write show as
    # ksys_*, sendto/recvfrom as __sys_*: the __x64_sys_ stubs tail-call them)
    perf report -i "$o.data" --children --stdio -g none --sort sym 2>/dev/null |
        awk '!/^#/ && / (do_syscall_64|__x64_sys_[a-z_0-9]+|ksys_[a-z]+|__sys_[a-z]+)$/ && $1 + 0 >= 0.05 { print $1, $NF }' | head -n 20 > "$o.sys"
    put "$t" perf_kernel_pct "$(awk '$2 ~ /kernel/ { print $1 }' "$o.dso")"
    put "$t" perf_rps "$(awk '/^Requests\/sec:/ { print $2 }' "$o.wrk")"
    log "  PERF $t: $(get "$t" perf_kernel_pct) of samples in the kernel at $(get "$t" perf_rps) req/s"
}

run_perf() {
    local t
    for t in "${TARGETS[@]}"; do
        [ "${T_KIND[$t]}" = proxy ] && [ -z "${T_LOG[$t]:-}" ] || continue
        [[ " $PERF_PROXIES " == *" ${T_NAME[$t]} "* ]] && [ "${T_MODE[$t]}" = "$PERF_MODE" ] || continue
        start_target "$t" || continue
        perf_run "$t"
        stop_target "$t"
    done
}

render_profile() {
    local t v f
    if has_scenario MEM; then
        echo "## Heap per idle TLS client connection (massif, one worker, $MEM_N connections)"
        echo
        echo "Heap growth per connection between two massif snapshots (before and after the connections were opened and left idle). 'extra' = malloc's own overhead. The per-site breakdowns follow."
        echo
        echo "| proxy | upstream | idle (after handshake): heap B | + extra B | after 1 request (parked): heap B | + extra B | connections |"
        echo "|---|---|---:|---:|---:|---:|---|"
        for t in "${MEM_TARGETS[@]}"; do
            echo "| ${T_NAME[$t]} | ${T_MODE[$t]} | $(get "$t" mem_idle_heap) | $(get "$t" mem_idle_extra) | $(get "$t" mem_req_heap) | $(get "$t" mem_req_extra) | $(get "$t" mem_idle_conns) / $(get "$t" mem_req_conns) |"
        done
        echo
        for t in "${MEM_TARGETS[@]}"; do
            for v in idle req; do
                f=$WD/out/$t.mem.$v.diff
                [ -s "$f" ] || continue
                echo "<details><summary>${T_NAME[$t]} ($v): heap per connection by allocation site and by owner</summary>"
                echo
                echo '```'
                cat "$f"
                echo '```'
                echo "</details>"
                echo
            done
        done
    fi
    if has_scenario PERF; then
        echo "## Where S1's CPU goes (perf record -e cpu-clock, $PERF_SECS s of S1, $WORKERS workers, → $PERF_MODE)"
        echo
        for t in "${TARGETS[@]}"; do
            f=$WD/out/$t.perf
            [ -s "$f.dso" ] || continue
            echo "<details><summary>${T_NAME[$t]}: $(get "$t" perf_kernel_pct) of samples in the kernel at $(get "$t" perf_rps) req/s</summary>"
            echo
            echo '```'
            echo "# share of samples per object"; cat "$f.dso"
            echo "# busiest symbols"; cat "$f.sym"
            echo "# kernel time under each system call entry (inclusive, % of all samples)"; cat "$f.sys"
            echo '```'
            echo "</details>"
            echo
        done
    fi
}
