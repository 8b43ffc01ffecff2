# bash completion for memtrace-bpf(8)                                  -*- shell-script -*-
# SPDX-License-Identifier: GPL-2.0
#
# Installed as $(PREFIX)/share/bash-completion/completions/memtrace-bpf, where the
# bash-completion package loads it the first time memtrace-bpf is completed. Without that
# package, source this file from ~/.bashrc. It completes options (long and short, and
# unique abbreviations of long ones as getopt_long takes them), -F formats, -p running PIDs
# (comma lists too), -G cgroups (directories of the cgroup v2 and v1 memory hierarchies, or
# paths as /proc/PID/cgroup shows them), -u users, -o files, --kill= signals, --stacks=
# modes, unit suffixes for sizes and durations, and, after "--" or the first word that is not
# an option, the COMMAND and its own arguments.

_memtrace_bpf_long_opts=(--pid --all --cgroup --no-children --max-procs --output --format
    --interval --duration --every --exact --live --quiet --verbose --memory-limit --rss-limit --kill
    --user --python --lines --folded --stacks --stack-size --stack-every --repeat --warmup
    --summary-json --find-min-limit
    --resolution --trial-timeout --prometheus --oom-log --help --version)
_memtrace_bpf_short_opts=(-p -a -G -o -F -i -d -q -v -m -L -u -h -V)
# long options whose argument is required (in the next word, or after '=')
_memtrace_bpf_long_arg=' --pid --cgroup --max-procs --output --format --interval --duration '
_memtrace_bpf_long_arg+='--memory-limit --rss-limit --user --lines --folded --repeat --warmup '
_memtrace_bpf_long_arg+='--summary-json --resolution --trial-timeout --prometheus --oom-log '
_memtrace_bpf_long_arg+='--stack-size --stack-every '
# short options whose argument is required (attached, or in the next word)
_memtrace_bpf_short_arg='pGoFidmLu'

# REPLY: the long option a word names (an exact name or a unique abbreviation), else the word.
_memtrace_bpf_resolve()
{
    local o match='' n=0
    REPLY=$1
    for o in "${_memtrace_bpf_long_opts[@]}"; do
        if [[ $o == "$1" ]]; then
            return
        elif [[ $o == "$1"* ]]; then
            match=$o
            ((n++))
        fi
    done
    ((n == 1)) && REPLY=$match
}

# REPLY: a word as the shell will read it, for the common cases (a leading quote,
# backslash escapes).
_memtrace_bpf_dequote()
{
    local w=$1 out='' i c
    case $w in
        \'*)
            # inside single quotes nothing is special
            w=${w#\'}
            REPLY=${w%\'}
            return
            ;;
        \"*)
            w=${w#\"}
            w=${w%\"}
            ;;
    esac
    for ((i = 0; i < ${#w}; i++)); do
        c=${w:i:1}
        if [[ $c == \\ ]] && ((i + 1 < ${#w})); then
            ((i++))
            c=${w:i:1}
        fi
        out+=$c
    done
    REPLY=$out
}

# COMPREPLY += PREFIX.CANDIDATE for every CANDIDATE that begins with WORD.
_memtrace_bpf_add()
{
    local prefix=$1 word=$2 c
    shift 2
    for c in "$@"; do
        [[ $c == "$word"* ]] && COMPREPLY+=("$prefix$c")
    done
}

_memtrace_bpf_nospace()
{
    compopt -o nospace 2>/dev/null
}

_memtrace_bpf_pids()
{
    local prefix=$1 word=$2 p pids=()
    # PID[,PID...]: complete the last one of the list
    if [[ $word == *,* ]]; then
        prefix+=${word%,*},
        word=${word##*,}
    fi
    for p in /proc/[0-9]*; do
        pids+=("${p#/proc/}")
    done
    _memtrace_bpf_add "$prefix" "$word" "${pids[@]}"
}

_memtrace_bpf_signals()
{
    local prefix=$1 word=${2^^} s names=()
    for s in $(compgen -A signal); do
        [[ $s == SIG* ]] || continue
        if [[ $word == SIG* ]]; then
            names+=("$s")
        else
            names+=("${s#SIG}")
        fi
    done
    _memtrace_bpf_add "$prefix" "$word" "${names[@]}"
}

# Directories of the cgroup v2 hierarchy and of the v1 memory controller's, as directories
# (/sys/fs/cgroup/...) or as /proc/PID/cgroup names them (/system.slice/...).
_memtrace_bpf_cgroups()
{
    local prefix=$1 word mnt fs opts rest m d rel in_mount=''
    local -a mounts=() dirs=()
    local -A seen=()
    _memtrace_bpf_dequote "$2"
    word=$REPLY
    if [[ -r /proc/self/mounts ]]; then
        while read -r _ mnt fs opts rest; do
            if [[ $fs == cgroup2 || ($fs == cgroup && ,$opts, == *,memory,*) ]]; then
                mounts+=("${mnt//\\040/ }")
            fi
        done </proc/self/mounts
    fi
    for m in "${mounts[@]}"; do
        [[ $PWD == "$m" || $PWD == "$m"/* ]] && in_mount=1
        if [[ $word == "$m"/* ]]; then
            # inside the hierarchy: its directories
            [[ $word == "$m"/ ]] && dirs+=("$m/")
            mapfile -t -O "${#dirs[@]}" dirs < <(compgen -d -- "$word" | sed 's|$|/|')
        elif [[ $m/ == "$word"* ]]; then
            # the word leads to the mount point: the hierarchy itself
            dirs+=("$m/")
        fi
        # the hierarchy's own view of the path, as /proc/PID/cgroup shows it
        rel=${word#/}
        while IFS= read -r d; do
            d=${d#"$m"/}
            [[ $word == /* || -z $word ]] && d=/$d
            dirs+=("$d/")
        done < <(compgen -d -- "$m/$rel")
    done
    # a directory relative to a cgroup directory we are in
    if [[ -n $in_mount && -n $word && $word != /* ]]; then
        mapfile -t -O "${#dirs[@]}" dirs < <(compgen -d -- "$word" | sed 's|$|/|')
    fi
    for d in "${dirs[@]}"; do
        [[ -n ${seen[$d]} ]] && continue
        seen[$d]=1
        [[ $d == "$word"* ]] && COMPREPLY+=("$prefix$d")
    done
    compopt -o filenames 2>/dev/null
    _memtrace_bpf_nospace
}

_memtrace_bpf_files()
{
    local prefix=$1 word=$2 f
    if [[ -z $prefix ]] && declare -F _filedir >/dev/null; then
        local cur=$word
        _filedir
        return
    fi
    _memtrace_bpf_dequote "$word"
    while IFS= read -r f; do
        COMPREPLY+=("$prefix$f")
    done < <(compgen -f -- "$REPLY")
    compopt -o filenames 2>/dev/null
}

# A number followed by one of the units.
_memtrace_bpf_units()
{
    local prefix=$1 word=$2 u
    shift 2
    [[ $word =~ ^[0-9]+(\.[0-9]*)?$ ]] || return
    for u in "$@"; do
        COMPREPLY+=("$prefix$word$u")
    done
}

# The value of option OPT (a short -x or the full --long name), WORD typed so far; PREFIX is
# what must stay in front of the completion (an attached short option, or --opt= when '=' does
# not break words).
_memtrace_bpf_value()
{
    local opt=$1 prefix=$2 word=$3
    case $opt in
        -p | --pid) _memtrace_bpf_pids "$prefix" "$word" ;;
        -G | --cgroup) _memtrace_bpf_cgroups "$prefix" "$word" ;;
        -o | --output | --lines | --folded | --summary-json | --oom-log)
            _memtrace_bpf_files "$prefix" "$word" ;;
        --prometheus) _memtrace_bpf_add "$prefix" "$word" 127.0.0.1:9464 '[::1]:9464' :9464 ;;
        -F | --format) _memtrace_bpf_add "$prefix" "$word" csv jsonl mprof ;;
        -u | --user) mapfile -t COMPREPLY < <(compgen -P "$prefix" -u -- "$word") ;;
        --kill) _memtrace_bpf_signals "$prefix" "$word" ;;
        --stacks) _memtrace_bpf_add "$prefix" "$word" dwarf fp ;;
        -i | --interval | -d | --duration | --trial-timeout)
            _memtrace_bpf_units "$prefix" "$word" ms s m h ;;
        -m | --memory-limit | -L | --rss-limit | --resolution | --stack-size | --stack-every)
            _memtrace_bpf_units "$prefix" "$word" K M G T ;;
    esac
}

# Complete COMMAND and its arguments, which begin at COMP_WORDS[OFFSET].
_memtrace_bpf_command()
{
    local offset=$1 cur=$2 is_cmd=$3
    if declare -F _comp_command_offset >/dev/null; then
        _comp_command_offset "$offset"
    elif declare -F _command_offset >/dev/null; then
        _command_offset "$offset"
    elif [[ -n $is_cmd ]]; then
        # without bash-completion: command names, or paths to programs
        mapfile -t COMPREPLY < <(compgen -c -- "$cur")
        [[ $cur == */* ]] && _memtrace_bpf_files '' "$cur"
        compopt -o filenames 2>/dev/null
    else
        _memtrace_bpf_files '' "$cur"
    fi
}

_memtrace_bpf()
{
    COMPREPLY=()
    local i j w c n cur cword=-1 glue='' target='' cmd_at=0 expect='' prefix opt
    local -a words=() origin=()

    # COMP_WORDS with '--option' '=' 'value' (split at COMP_WORDBREAKS) glued back together
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        w=${COMP_WORDS[i]}
        n=${#words[@]}
        if [[ -n $glue ]]; then
            words[n - 1]+=$w
            glue=''
        elif [[ $w == = ]] && ((n > 1)) && [[ ${words[n - 1]} == --* && ${words[n - 1]} != *=* ]]; then
            words[n - 1]+=$w
            glue=1
        else
            words+=("$w")
            origin+=("$i")
        fi
        if ((i == COMP_CWORD)); then
            cword=$((${#words[@]} - 1))
            break
        fi
    done
    ((cword >= 1)) || return 0
    cur=${words[cword]}

    # what the words before the cursor are, as getopt_long with "+" reads them
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        if [[ -n $expect ]]; then
            expect=''
            continue
        fi
        case $w in
            --)
                cmd_at=$((i + 1))
                break
                ;;
            --*=*)
                _memtrace_bpf_resolve "${w%%=*}"
                [[ $REPLY == --pid || $REPLY == --cgroup ]] && target=1
                ;;
            --?*)
                _memtrace_bpf_resolve "$w"
                [[ $REPLY == --pid || $REPLY == --cgroup || $REPLY == --all ]] && target=1
                [[ $_memtrace_bpf_long_arg == *" $REPLY "* ]] && expect=$REPLY
                ;;
            -?*)
                # a cluster of short options: -qv, -p4242, -qp 4242
                for ((j = 1; j < ${#w}; j++)); do
                    c=${w:j:1}
                    [[ $c == [apG] ]] && target=1
                    if [[ $_memtrace_bpf_short_arg == *"$c"* ]]; then
                        ((j == ${#w} - 1)) && expect=-$c
                        break
                    fi
                done
                ;;
            *)
                cmd_at=$i
                break
                ;;
        esac
    done

    if ((cmd_at > 0 && cword >= cmd_at)); then
        _memtrace_bpf_command "${origin[cmd_at]}" "$cur" "$( ((cword == cmd_at)) && echo 1)"
        return 0
    fi
    if [[ -n $expect ]]; then
        _memtrace_bpf_value "$expect" '' "$cur"
        return 0
    fi
    case $cur in
        --*=*)
            _memtrace_bpf_resolve "${cur%%=*}"
            opt=$REPLY
            prefix=''
            # readline completes only what follows the '=' when '=' breaks words
            [[ $COMP_WORDBREAKS == *=* ]] || prefix=$opt=
            _memtrace_bpf_value "$opt" "$prefix" "${cur#*=}"
            ;;
        --*)
            _memtrace_bpf_add '' "$cur" "${_memtrace_bpf_long_opts[@]}"
            ;;
        -*)
            # an argument attached to a short option: -Fjs, -p42
            for ((j = 1; j < ${#cur}; j++)); do
                c=${cur:j:1}
                if [[ $_memtrace_bpf_short_arg == *"$c"* ]]; then
                    if ((j < ${#cur} - 1)); then
                        _memtrace_bpf_value "-$c" "${cur:0:j+1}" "${cur:j+1}"
                        return 0
                    fi
                    break
                fi
            done
            _memtrace_bpf_add '' "$cur" "${_memtrace_bpf_long_opts[@]}" \
                "${_memtrace_bpf_short_opts[@]}"
            ;;
        *)
            if [[ -n $target ]]; then
                # -p, -a or -G given: no COMMAND may follow, only options
                [[ -z $cur ]] && _memtrace_bpf_add '' '' "${_memtrace_bpf_long_opts[@]}"
            else
                _memtrace_bpf_command "${origin[cword]}" "$cur" 1
            fi
            ;;
    esac
    return 0
}

complete -F _memtrace_bpf memtrace-bpf
