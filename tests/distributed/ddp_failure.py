"""Run under `mpiexec -n 2`: rank 1 raises while rank 0 waits in a collective; run_main must
end both (with "rank 1 failed: ...") instead of leaving rank 0 waiting forever."""

import chainrule as cr


def main() -> None:
    cr.distributed.init_process_group("mpi")
    if cr.distributed.get_rank() == 1:
        raise ValueError("boom on purpose")
    cr.distributed.barrier()  # rank 1 never arrives


cr.distributed.run_main(main)
