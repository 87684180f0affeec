# shellcheck shell=bash
# Scenario CG: instructions, system calls and CPU per request with one
# worker/thread per proxy, by differences: the same client load of two run
# lengths (CG_N: N1 and N2 keep-alive requests over CG_CONNS connections,
# full handshake once per connection), and
#     per request = (total(N2) - total(N1)) / (N2 - N1)
# so start-up, the handshakes, the check request and shutdown cancel out.
#   - callgrind: the proxy runs under valgrind --tool=callgrind, a fresh
#     process per run length; totals are the Ir (user-space instructions)
#     of all its processes' profiles;
#   - strace -c -f attached to every thread for each run: system calls per
#     request, in total and for the busiest calls;
#   - /proc: utime/stime (user and system CPU) and context switches per
#     request over the longer run, without any tracer; and perf stat
#     instructions/cycles when the machine has hardware counters (a VM
#     often has none: then the report says so and the /proc split stands
#     in for it).
# Both shapes: "get" (GET /1k, S1's request) and "erp" (the ERP's POSTs,
# CG_ERP_N requests).  Client: tlsload ka with -N, TLS 1.2 to the proxy.
# Targets are "cg-<plug-in>" (T_WORKERS 1, T_WRAP valgrind) on the CG_MODE
# upstream flavour.

cg_perf_hw() {   # true if perf can count instructions and cycles here
    command -v perf > /dev/null || return 1
    local out
    out=$(perf stat -x, -e instructions,cycles true 2>&1) || return 1
    ! grep -q -E 'not supported|not counted|<not' <<< "$out"
}

cg_add_target() {   # PLUGIN
    local t="cg-$1"
    T_KIND[$t]=proxy; T_NAME[$t]=$1; T_MODE[$t]=$CG_MODE; T_CTLS[$t]=tls12
    alloc_port; T_PORT[$t]=$ALLOCATED_PORT
    alloc_port; T_AUX[$t]=$ALLOCATED_PORT
    if [ "$CG_MODE" = tls10 ]; then T_UPPORT[$t]=$BACKEND_TLS10_PORT; else T_UPPORT[$t]=$BACKEND_PLAIN_PORT; fi
    T_WORKDIR[$t]=$WD/proxies/$t
    T_WORKERS[$t]=1
    T_MAXCONN[$t]=1000   # valgrind keeps some descriptors for itself
    [ -n "$CG_LOG" ] && T_LOG[$t]=1
    T_STATUS[$t]=ok
    CG_TARGETS+=("$t")
}

# cg_load TARGET SHAPE N OUT: N keep-alive requests of SHAPE through the target
cg_load() {
    local t=$1 shape=$2 n=$3 out=$4
    local -a erp=()
    [ "$shape" = erp ] && erp=(-E -B "$ERP_BODY_K" -Z "$ERP_RESP_K" -w "$ERP_CONTINUE_MS" -S "$ERP_SEED")
    "${CLIENT_PIN[@]}" "$TLSLOAD" ka -p "${T_PORT[$t]}" -t tls12 -c "$CG_CONNS" -N "$n" -d 900 \
        "${erp[@]}" > "$out" 2> "$out.err"
}

cg_sum_ir() {   # DIR: summed Ir of every callgrind profile in DIR
    cat "$1"/callgrind.out.* 2>/dev/null | awk '/^totals:/ { s += $2 } END { printf "%.0f\n", s }'
}

# cg_callgrind_one TARGET SHAPE N: "Ir requests" of one fresh process under callgrind
cg_callgrind_one() {
    local t=$1 shape=$2 n=$3 out cgd=$WD/callgrind/$1.$2.$3
    # world-writable: nginx's worker writes its profile after dropping to nobody
    mkdir -p "$cgd" && chmod 1777 "$cgd"
    T_WRAP[$t]="valgrind --tool=callgrind --callgrind-out-file=$cgd/callgrind.out.%p"
    if ! start_target "$t"; then T_WRAP[$t]=""; echo "- -"; return 1; fi
    T_WRAP[$t]=""
    out=$WD/out/$t.cg.$shape.$n
    cg_load "$t" "$shape" "$n" "$out"
    # callgrind writes its profile at exit: give it time, never SIGKILL it early
    stop_tree "${T_PID[$t]}" TERM 120
    untrack_pid "$WD/started.pids" "${T_PID[$t]}"
    T_PID[$t]=""
    local line done_n
    line=$(tail -n1 "$out")
    done_n=$(( $(kv reqs <<< "$line") + $(kv errors <<< "$line") ))
    [ "$(kv errors <<< "$line")" = 0 ] || warn "$t: $(kv errors <<< "$line") failed requests under callgrind ($shape)"
    echo "$(cg_sum_ir "$cgd") $done_n"
}

# cg_callgrind TARGET SHAPE N1 N2: instructions per request by difference
cg_callgrind() {
    local t=$1 shape=$2 n1=$3 n2=$4 ir1 q1 ir2 q2
    log "  CG $t $shape: callgrind, $n1 then $n2 requests"
    read -r ir1 q1 < <(cg_callgrind_one "$t" "$shape" "$n1")
    read -r ir2 q2 < <(cg_callgrind_one "$t" "$shape" "$n2")
    put "$t" "cg_${shape}_ir_totals" "$ir1/$q1 $ir2/$q2"
    put "$t" "cg_${shape}_ir" "$(awk -v a="$ir1" -v b="$ir2" -v m="$q1" -v n="$q2" \
        'BEGIN { if (a != "-" && b != "-" && n > m) printf "%.0f\n", (b - a) / (n - m); else print "-" }')"
    log "  CG $t $shape: $(get "$t" "cg_${shape}_ir") instructions/request (totals $ir1 for $q1, $ir2 for $q2)"
    # the function profile of the longer run, for PROFILE.md and the details
    if command -v callgrind_annotate > /dev/null && [ -d "$WD/callgrind/$t.$shape.$n2" ]; then
        local f
        for f in "$WD/callgrind/$t.$shape.$n2"/callgrind.out.*; do
            callgrind_annotate "$f" 2>/dev/null | awk 'NF && /[0-9] \(/ { print; if (++n == 25) exit }'
        done > "$WD/out/$t.cg.$shape.top"
    fi
}

strace_counts() {   # FILE: "syscall calls" lines and a "total N" line from strace -c
    awk '$NF == "total" { print "total", $4; next }
         $1 ~ /^[0-9.]+$/ && NF >= 5 { print $NF, $4 }' "$1"
}

# cg_trace TARGET SHAPE N OUT: one run with strace -c -f on every process of the tree
cg_trace() {
    local t=$1 shape=$2 n=$3 out=$4 spid p
    local -a pargs=()
    for p in $(proc_tree "${T_PID[$t]}"); do pargs+=(-p "$p"); done
    strace -f -c -o "$out.strace" "${pargs[@]}" 2> "$out.strace.err" &
    spid=$!
    track_pid "$WD/client.pids" "$spid"
    # wait until strace has attached to every process, threads included
    # (it says "Process N attached [with M threads]" once per process)
    local want=$((${#pargs[@]} / 2)) deadline=$((SECONDS + 10))
    while [ "$(grep -c 'attached' "$out.strace.err" 2>/dev/null)" -lt "$want" ] && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.1
    done
    cg_load "$t" "$shape" "$n" "$out"
    kill -INT "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    untrack_pid "$WD/client.pids" "$spid"
}

# cg_plain TARGET SHAPE N1 N2: /proc CPU split and perf counters over the
# longer run (its 8 handshakes are well under 1 % of it, and one run's
# ticks are steadier than a difference of two), strace counts by difference
cg_plain() {
    local t=$1 shape=$2 n1=$3 n2=$4 n o pid u0 s0 c0 u1 s1 q
    pid=${T_PID[$t]}
    o=$WD/out/$t.proc.$shape.$n2
    read -r u0 s0 < <(tree_cpu_split "$pid"); c0=$(tree_ctxsw "$pid")
    if [ "$CG_PERF" = 1 ]; then
        local -a pp=()
        local p perf_pid
        for p in $(proc_tree "$pid"); do pp+=("$p"); done
        perf stat -x, -e instructions,cycles -p "$(IFS=,; echo "${pp[*]}")" -o "$o.perf" &
        perf_pid=$!
        sleep 0.3
        cg_load "$t" "$shape" "$n2" "$o"
        kill -INT "$perf_pid" 2>/dev/null; wait "$perf_pid" 2>/dev/null
    else
        cg_load "$t" "$shape" "$n2" "$o"
    fi
    read -r u1 s1 < <(tree_cpu_split "$pid")
    q=$(( $(kv reqs < <(tail -n1 "$o")) + $(kv errors < <(tail -n1 "$o")) ))
    put "$t" "cg_${shape}_user_us" "$(per_req_us $((u1 - u0)) "$q")"
    put "$t" "cg_${shape}_sys_us" "$(per_req_us $((s1 - s0)) "$q")"
    put "$t" "cg_${shape}_csw" "$(awk -v c=$(( $(tree_ctxsw "$pid") - c0 )) -v n="$q" 'BEGIN { if (n > 0) printf "%.2f\n", c / n; else print "-" }')"
    if [ "$CG_PERF" = 1 ]; then
        put "$t" "cg_${shape}_perf_ins" "$(awk -F, -v n="$q" '$3 ~ /^instructions/ && n > 0 { printf "%.0f\n", $1 / n }' "$o.perf")"
        put "$t" "cg_${shape}_perf_cyc" "$(awk -F, -v n="$q" '$3 ~ /^cycles/ && n > 0 { printf "%.0f\n", $1 / n }' "$o.perf")"
    fi
    # strace: the same two lengths again, traced
    for n in "$n1" "$n2"; do
        cg_trace "$t" "$shape" "$n" "$WD/out/$t.strace.$shape.$n"
    done
    local f1=$WD/out/$t.strace.$shape.$n1 f2=$WD/out/$t.strace.$shape.$n2 q1 q2
    q1=$(( $(kv reqs < <(tail -n1 "$f1")) + $(kv errors < <(tail -n1 "$f1")) ))
    q2=$(( $(kv reqs < <(tail -n1 "$f2")) + $(kv errors < <(tail -n1 "$f2")) ))
    join -a 2 -e 0 -o 0,1.2,2.2 <(strace_counts "$f1.strace" | sort) <(strace_counts "$f2.strace" | sort) |
        awk -v d=$((q2 - q1)) 'd > 0 { printf "%s %.2f\n", $1, ($3 - $2) / d }' | sort -k2,2 -g -r > "$WD/out/$t.strace.$shape.per_req"
    put "$t" "cg_${shape}_syscalls" "$(awk '$1 == "total" { print $2 }' "$WD/out/$t.strace.$shape.per_req")"
    put "$t" "cg_${shape}_syscall_top" "$(awk '$1 != "total" && $2 >= 0.05 { printf "%s%s %s", (n++ ? ", " : ""), $1, $2 } END { print "" }' "$WD/out/$t.strace.$shape.per_req")"
    log "  CG $t $shape: $(get "$t" "cg_${shape}_user_us") us user + $(get "$t" "cg_${shape}_sys_us") us sys, $(get "$t" "cg_${shape}_csw") context switches, $(get "$t" "cg_${shape}_syscalls") system calls per request ($(get "$t" "cg_${shape}_syscall_top"))"
}

run_cg() {
    CG_PERF=0
    cg_perf_hw && CG_PERF=1
    put cg perf_hw "$CG_PERF"
    local t shape n1 n2
    for t in "${CG_TARGETS[@]}"; do
        for shape in get erp; do
            if [ "$shape" = get ]; then read -r n1 n2 <<< "$CG_N"; else read -r n1 n2 <<< "$CG_ERP_N"; fi
            cg_callgrind "$t" "$shape" "$n1" "$n2"
        done
        # the same one-worker process without valgrind for /proc, perf and strace
        start_target "$t" || continue
        for shape in get erp; do
            if [ "$shape" = get ]; then read -r n1 n2 <<< "$CG_PLAIN_N"; else read -r n1 n2 <<< "$CG_PLAIN_ERP_N"; fi
            cg_plain "$t" "$shape" "$n1" "$n2"
        done
        stop_target "$t"
    done
}
