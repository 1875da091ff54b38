# output_file.sh - the rules of output_file.h for shell scripts: source it, then
#   write_output PATH         standard input becomes the file PATH
#   place_output FILE PATH    the finished file FILE (ours, in PATH's folder) becomes PATH
#   check_output_dir DIR      DIR, made if missing, must be a folder itself (not a link)
# A regular file of ours at PATH, or nothing, is replaced whole by a rename; a character device
# or a FIFO is written in place (PATH=/dev/null leaves the device be); a symbolic link, a
# directory or another user's file is refused with a one-line reason on stderr, status 1.
# Messages start with $output_label (default: the script's name).

output_refusal() {   # why PATH may not be written, or nothing
    local path=$1
    if [ -L "$path" ]; then echo "it is a symbolic link (give the file itself)"
    elif [ -d "$path" ]; then echo "it is a directory (give a file name)"
    elif [ -c "$path" ] || [ -p "$path" ]; then :
    elif [ -e "$path" ] && [ ! -f "$path" ]; then echo "it is neither a regular file, a character device nor a FIFO"
    elif [ -e "$path" ] && [ ! -O "$path" ]; then echo "it is another user's file"
    fi
}

place_output() {
    local file=$1 path=$2 why
    why=$(output_refusal "$path")
    if [ -n "$why" ]; then
        echo "${output_label:-$(basename "$0")}: cannot write $path: $why" >&2
        rm -f -- "$file"
        return 1
    fi
    if [ -c "$path" ] || [ -p "$path" ]; then
        cat -- "$file" >"$path"
        local status=$?
        rm -f -- "$file"
        return $status
    fi
    chmod 644 -- "$file" && mv -f -T -- "$file" "$path" && return 0
    rm -f -- "$file"
    return 1
}

write_output() {
    local path=$1 why tmp
    why=$(output_refusal "$path")
    if [ -n "$why" ]; then
        echo "${output_label:-$(basename "$0")}: cannot write $path: $why" >&2
        return 1
    fi
    if [ -c "$path" ] || [ -p "$path" ]; then
        cat >"$path"
        return
    fi
    tmp=$(mktemp -- "$path.XXXXXX") || return 1   # O_EXCL, mode 0600, beside PATH
    if ! cat >"$tmp"; then
        rm -f -- "$tmp"
        return 1
    fi
    place_output "$tmp" "$path"
}

check_output_dir() {
    local dir=$1
    if [ -L "$dir" ]; then
        echo "${output_label:-$(basename "$0")}: $dir is a symbolic link: give the folder itself" >&2
        return 1
    fi
    if [ -e "$dir" ] && [ ! -d "$dir" ]; then
        echo "${output_label:-$(basename "$0")}: $dir is not a folder" >&2
        return 1
    fi
    mkdir -p -- "$dir"
}
