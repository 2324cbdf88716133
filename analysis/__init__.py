"""Logged runs -> tidy DataFrames -> Table 1, figures, report.

    runs          load run folders (or a wandb project) into tidy frames; the status rule
    table1        scores, normalisation, bootstrap intervals, Markdown / LaTeX / CSV writers
    aggregate     IQM, probability of improvement, performance profiles, stratified bootstrap (numpy)
    figures       Figure 1, learning curves, aggregate figure, training diagnostics
    report        python -m analysis.report <runs...> --out <dir>
    paper_values  the paper's Table 1, with its citation
    testing       synthetic run folders for tests
"""
