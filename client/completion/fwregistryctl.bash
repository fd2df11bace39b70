# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for fwregistryctl(1). Values come from the D-Bus contract; descriptor names from the
# catalogue that the command line being completed would ask (the daemon, or --offline with its options).

__fwregistryctl_values() {
        case $1 in
                --arch|--architecture|-a) echo aarch64 arm i386 loongarch64 riscv64 x86_64 ;;
                --machine|-m) echo q35 pc virt ;;
                --interface) echo uefi bios openfirmware uboot ;;
                --device) echo flash memory kernel igvm ;;
                --mode) echo split combined stateless ;;
                --format|--formats) echo raw qcow2 ;;
                --feature|--no-feature) echo acpi-s3 acpi-s4 amd-sev amd-sev-es amd-sev-snp intel-tdx enrolled-keys \
                        requires-smm secure-boot host-uefi-vars verbose-dynamic verbose-static ;;
                --certificate|--certificates) echo microsoft-kek-2011 microsoft-kek-2023 windows-pca-2011 \
                        windows-uefi-ca-2023 microsoft-uefi-ca-2011 microsoft-uefi-ca-2023 microsoft-option-rom-ca-2023 \
                        debian-pk-kek-2019 debian-snakeoil-2020 debian-snakeoil-2023 ;;
                --json) echo pretty short off ;;
                --output) echo text qemu libvirt ;;
                --keys) echo keep template add-missing ;;
        esac
}

__fwregistryctl_names() {
        local i w
        local -a scope=()
        # the options that choose the catalogue, as "--root=DIR" (split by bash at "=") or "--root DIR"
        for (( i = 1; i < ${#COMP_WORDS[@]}; i++ )); do
                w=${COMP_WORDS[i]}
                case $w in
                        --offline|--user|--system) scope+=("$w") ;;
                        --root|--search-path|--extra-dir)
                                if [[ ${COMP_WORDS[i+1]} == = ]]; then
                                        scope+=("$w=${COMP_WORDS[i+2]}")
                                else
                                        scope+=("$w=${COMP_WORDS[i+1]}")
                                fi ;;
                esac
        done
        "${COMP_WORDS[0]}" "${scope[@]}" list --include-invalid --include-masked --no-legend --no-pager 2>/dev/null |
                while read -r _ name _; do echo "$name"; done
}

_fwregistryctl() {
        local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
        local verbs='status list describe resolve explain monitor reload validate nvram'
        local flags='--help --version --offline --system --user --no-legend --no-pager --no-ask-password --json
                --secure-boot --no-secure-boot --enrolled-keys --no-enrolled-keys --smm --no-smm --no-check-files
                --include-invalid --include-masked --include-shadowed --wide --check-files --dry-run --no-backup'
        local with_value='--root --search-path --extra-dir --arch --machine --interface --device --mode --format
                --feature --no-feature --exclude --executable --nvram-template --nvram --output --qemu-dirs --keys
                --certificate'
        local i w verb='' nargs=0 option=''

        # "--arch=x": bash splits at "=" (COMP_WORDBREAKS)
        if [[ $cur == = ]]; then
                option=$prev cur=''
        elif [[ $prev == = ]] && (( COMP_CWORD >= 2 )); then
                option=${COMP_WORDS[COMP_CWORD-2]}
        elif [[ " $with_value -a -m " == *" $prev "* ]]; then
                option=$prev
        fi

        for (( i = 1; i < COMP_CWORD; i++ )); do
                w=${COMP_WORDS[i]}
                if [[ $w == -* || $w == = ]]; then
                        continue
                elif [[ ${COMP_WORDS[i+1]} != = && " $with_value -a -m " == *" ${COMP_WORDS[i-1]} "* ]]; then
                        continue        # the value of an option
                elif [[ ${COMP_WORDS[i-1]} == = ]]; then
                        continue
                elif [[ -z $verb ]]; then
                        verb=$w
                else
                        nargs=$((nargs + 1))
                fi
        done

        if [[ -n $option ]]; then
                case $option in
                        --root|--extra-dir) COMPREPLY=($(compgen -d -- "$cur")) ;;
                        --search-path|--qemu-dirs) COMPREPLY=($(compgen -d -- "${cur##*:}")) ;;
                        --executable|--nvram-template|--nvram) COMPREPLY=($(compgen -f -- "$cur")) ;;
                        --exclude) COMPREPLY=($(compgen -W "$(__fwregistryctl_names)" -- "$cur")) ;;
                        *) COMPREPLY=($(compgen -W "$(__fwregistryctl_values "$option")" -- "$cur")) ;;
                esac
                return 0
        fi
        if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$flags $with_value" -- "$cur"))
                return 0
        fi
        case $verb in
                '') COMPREPLY=($(compgen -W "$verbs" -- "$cur")) ;;
                describe) (( nargs == 0 )) && COMPREPLY=($(compgen -W "$(__fwregistryctl_names)" -- "$cur")) ;;
                validate) COMPREPLY=($(compgen -f -- "$cur")) ;;
                nvram)
                        if (( nargs == 0 )); then
                                COMPREPLY=($(compgen -W 'create inspect audit migrate update-keys' -- "$cur"))
                        else
                                COMPREPLY=($(compgen -f -- "$cur"))
                        fi ;;
        esac
        return 0
}

complete -F _fwregistryctl fwregistryctl
