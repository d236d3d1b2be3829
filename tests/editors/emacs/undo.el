;;; undo.el --- batch Emacs: gpt-lsp-undo.el's one step per job, without a server  -*- lexical-binding: t; -*-
;; Run: emacs --batch -Q -l undo.el CONFIG.json ; pytest reads the JSON result it writes.
;; A job's edits and the user's typing are made here as the shim and the command loop make
;; them (each job edit noted with `gpt-lsp-undo-job-edited', boundaries between commands).

(require 'json)
(defvar cfg (let ((json-object-type 'alist) (json-array-type 'list))
              (json-read-file (pop command-line-args-left))))
(add-to-list 'load-path (alist-get 'shim_dir cfg))
(require 'gpt-lsp-undo)
(require 'ert)

(defun undo-test-job-edit (job beg end text)
  "JOB replaces BEG..END with TEXT, as the shim applies a job's edit."
  (let ((tail buffer-undo-list) (replaced (buffer-substring-no-properties beg end)))
    (save-excursion
      (delete-region beg end)
      (goto-char beg)
      (insert text))
    (gpt-lsp-undo-job-edited job tail replaced beg text)))

(defun undo-test-append (job text)
  "JOB adds TEXT at the end of its region."
  (let ((end (marker-position (gpt-lsp-undo-job-end (cdr (assoc job gpt-lsp-undo--jobs))))))
    (undo-test-job-edit job end end text)))

(defun undo-test-type (pos text)
  "The user types TEXT at POS: one command."
  (undo-boundary)
  (goto-char pos)
  (insert text)
  (undo-boundary))

(defun undo-test-undo (&optional again)
  "One C-_ after another command; AGAIN: after a C-_ (the same undo sequence)."
  (let ((last-command (if again 'undo 'ignore))) (undo)))

(defmacro undo-test-buffer (text &rest body)
  "Run BODY in a fresh buffer holding TEXT, with undo on."
  (declare (indent 1))
  `(with-temp-buffer
     (buffer-enable-undo)
     (insert ,text)
     (undo-boundary)
     (transient-mark-mode -1)
     ,@body))

(defun undo-test-pos (text)
  (save-excursion (goto-char (point-min)) (search-forward text) (match-beginning 0)))

(ert-deftest gpt-lsp-undo-one-step-keeps-typing-above-and-below ()
  (undo-test-buffer "a\nOLD\nz\n"
    (let ((beg (undo-test-pos "OLD")))
      (undo-test-job-edit "job-1" beg (+ beg 4) "N")
      (undo-test-type (point-min) "X\n")
      (undo-test-append "job-1" "EW")
      (undo-test-type (point-max) "Y\n")
      (undo-test-append "job-1" "\n")
      (should (equal (buffer-string) "X\na\nNEW\nz\nY\n"))
      (gpt-lsp-undo-job-done "job-1")
      (undo-test-undo)
      (should (equal (buffer-string) "X\na\nOLD\nz\nY\n"))
      ;; The user's typing is still undoable, each its own step, at the right place.
      (undo-test-undo t)
      (should (equal (buffer-string) "X\na\nOLD\nz\n"))
      (undo-test-undo t)
      (should (equal (buffer-string) "a\nOLD\nz\n")))))

(ert-deftest gpt-lsp-undo-follow-up-joins-the-step ()
  (undo-test-buffer "a\nOLD\nz\n"
    (let ((beg (undo-test-pos "OLD")))
      (undo-test-job-edit "job-1" beg (+ beg 4) "FIRST\n")
      (gpt-lsp-undo-job-done "job-1")
      (undo-test-type (point-max) "Y\n")
      ;; The follow-up turn rewrites the region, then adds to it.
      (undo-test-job-edit "job-1" beg (+ beg 6) "SEC")
      (undo-test-append "job-1" "OND\n")
      (gpt-lsp-undo-job-done "job-1")
      (should (equal (buffer-string) "a\nSECOND\nz\nY\n"))
      (undo-test-undo)
      (should (equal (buffer-string) "a\nOLD\nz\nY\n")))))

(ert-deftest gpt-lsp-undo-a-change-inside-the-region-leaves-the-list ()
  (undo-test-buffer "a\nOLD\nz\n"
    (let ((beg (undo-test-pos "OLD")))
      (undo-test-job-edit "job-1" beg (+ beg 4) "NEW\n")
      (undo-test-type (+ beg 1) "!")
      (let ((before buffer-undo-list))
        (gpt-lsp-undo-job-done "job-1")
        (should (eq buffer-undo-list before))))))

(ert-deftest gpt-lsp-undo-a-restored-job-leaves-no-step ()
  (undo-test-buffer "a\nOLD\nz\n"
    (undo-test-type (point-min) "X")
    (let ((beg (undo-test-pos "OLD")))
      (undo-test-job-edit "job-1" beg (+ beg 4) "NEW\n")
      (undo-test-job-edit "job-1" beg (+ beg 4) "OLD\n")  ; restore
      (gpt-lsp-undo-job-done "job-1" t)
      (should (equal (buffer-string) "Xa\nOLD\nz\n"))
      (undo-test-undo)  ; the user's own typing, not the job's text
      (should (equal (buffer-string) "a\nOLD\nz\n")))))

(ert-deftest gpt-lsp-undo-two-jobs-at-once ()
  (undo-test-buffer "A1\nmid\nB1\n"
    (undo-test-job-edit "job-1" 1 4 "a")
    (undo-test-job-edit "job-2" (undo-test-pos "B1") (+ (undo-test-pos "B1") 3) "b")
    (undo-test-append "job-1" "aa\n")
    (undo-test-append "job-2" "bb\n")
    (gpt-lsp-undo-job-done "job-1")
    (undo-test-append "job-2" "B\n")
    (gpt-lsp-undo-job-done "job-2")
    (should (equal (buffer-string) "aaa\nmid\nbbb\nB\n"))
    (undo-test-undo)
    (should (equal (buffer-string) "aaa\nmid\nB1\n"))
    (undo-test-undo t)
    (should (equal (buffer-string) "A1\nmid\nB1\n"))))

(let* ((stats (ert-run-tests-batch))
       (failed (ert--stats-failed-unexpected stats)))
  (with-temp-file (alist-get 'out cfg)
    (insert (json-encode `((ok . ,(if (and (> (ert-stats-total stats) 0) (= failed 0)) t :json-false))
                           (total . ,(ert-stats-total stats))
                           (failed . ,failed))))))
(kill-emacs 0)
