;;; gpt-lsp-undo.el --- one undo step per AI job, the user's typing kept apart  -*- lexical-binding: t; -*-

;;; Commentary:

;; A job streams many edits into its region while the user may type elsewhere in the
;; buffer.  When the job stops streaming, its entries leave `buffer-undo-list' and one step
;; takes their place at its head: "the region held the job's original text".  The user's
;; own changes stay, each its own step, moved to where they would be had the job never
;; written (below the region they shift by the length the job added).  So one `undo'
;; restores the text from before the job and keeps the user's typing; a follow-up turn's
;; edits join the same step.  A change the rewrite cannot place (one inside the region)
;; leaves the list as Emacs recorded it.

;;; Code:

(require 'cl-lib)
(require 'subr-x)

(cl-defstruct (gpt-lsp-undo-job (:constructor gpt-lsp-undo--make) (:copier nil))
  "What one job wrote to a buffer, for its undo step."
  start end        ; markers: the job's region now
  original         ; the region's text before the job's first edit
  tail             ; `buffer-undo-list' before the job's first edit
  (cells (make-hash-table :test #'eq))  ; the undo list's cells the job's edits made
  dirty)           ; non-nil: edits since the last rewrite

(defvar-local gpt-lsp-undo--jobs nil
  "Jobs whose undo step this buffer keeps: alist (JOB-ID . `gpt-lsp-undo-job').")

(defun gpt-lsp-undo-job-edited (job-id tail replaced beg new-text)
  "Note JOB-ID's edit, just applied: it replaced REPLACED at BEG with NEW-TEXT.
TAIL is `buffer-undo-list' from before the edit.  Every job edit replaces the
region or adds at its end, so the region now runs from its start to the end of
NEW-TEXT; the first edit replaces the whole region, so REPLACED is its original."
  (when (listp buffer-undo-list)
    (let ((job (cdr (assoc job-id gpt-lsp-undo--jobs)))
          (end (+ beg (length new-text)))
          (list buffer-undo-list))
      (if job
          ;; Read before `set-marker': an edit at the start has moved the start marker.
          (set-marker (gpt-lsp-undo-job-start job)
                      (min (gpt-lsp-undo-job-start job) beg))
        (setq job (gpt-lsp-undo--make :original replaced :tail tail
                                      :start (copy-marker beg t) :end (copy-marker end)))
        (push (cons job-id job) gpt-lsp-undo--jobs))
      (while (and (consp list) (not (eq list tail)))
        (puthash list t (gpt-lsp-undo-job-cells job))
        (setq list (cdr list)))
      (set-marker (gpt-lsp-undo-job-end job) end)
      (setf (gpt-lsp-undo-job-dirty job) t)
      ;; A boundary, so that typing right after the job's last insertion is not merged
      ;; into the job's entry.
      (undo-boundary))))

(defun gpt-lsp-undo-job-done (job-id &optional forget)
  "Make JOB-ID's edits one undo step at the head of `buffer-undo-list'.
With FORGET, the job is over: its edits are no longer tracked."
  (let ((entry (assoc job-id gpt-lsp-undo--jobs)))
    (when entry
      (let ((job (cdr entry)))
        (when (and (gpt-lsp-undo-job-dirty job) (listp buffer-undo-list))
          (setf (gpt-lsp-undo-job-dirty job) nil)
          (gpt-lsp-undo--replace job))
        (when forget
          (set-marker (gpt-lsp-undo-job-start job) nil)
          (set-marker (gpt-lsp-undo-job-end job) nil)
          (setq gpt-lsp-undo--jobs (delq entry gpt-lsp-undo--jobs)))))))

(defun gpt-lsp-undo--replace (job)
  "Rewrite `buffer-undo-list' so that JOB's edits are one step at its head."
  (let* ((beg (marker-position (gpt-lsp-undo-job-start job)))
         (end (marker-position (gpt-lsp-undo-job-end job)))
         (original (gpt-lsp-undo-job-original job))
         (moved (gpt-lsp-undo-rewrite buffer-undo-list (gpt-lsp-undo-job-tail job)
                                      (gpt-lsp-undo-job-cells job) beg end (length original))))
    (when moved
      (let* ((rest (car moved))
             (map (cdr moved))
             (now (buffer-substring-no-properties beg end))
             (step (unless (equal now original)
                     (append (when (< beg end) (list (cons beg end)))
                             (unless (string-empty-p original) (list (cons original beg))))))
             (cells (make-hash-table :test #'eq)))
        (when (and step (car-safe rest)) (push nil rest))
        (setq rest (append step rest))
        (let ((list rest))
          (dotimes (_ (length step))
            (puthash list t cells)
            (setq list (cdr list))))
        (setf (gpt-lsp-undo-job-cells job) cells)
        ;; Other jobs' bookkeeping follows their entries to the new cells.
        (dolist (other gpt-lsp-undo--jobs)
          (let ((it (cdr other)))
            (unless (eq it job)
              (setf (gpt-lsp-undo-job-tail it)
                    (gethash (gpt-lsp-undo-job-tail it) map (gpt-lsp-undo-job-tail it)))
              (let ((moved-cells (make-hash-table :test #'eq)))
                (maphash (lambda (cell _) (puthash (gethash cell map cell) t moved-cells))
                         (gpt-lsp-undo-job-cells it))
                (setf (gpt-lsp-undo-job-cells it) moved-cells)))))
        (setq buffer-undo-list (if (car-safe rest) (cons nil rest) rest))))))

(defun gpt-lsp-undo-rewrite (undo-list tail cells beg end length)
  "UNDO-LIST down to TAIL without the job's CELLS, others' entries moved.
BEG..END is the job's region now, LENGTH the length of its text before the job.
Returns (LIST . MAP): LIST the entries of others from UNDO-LIST (moved to where
they would be had the job not written) ending in TAIL, MAP from each old cell
to its new one; nil when an entry cannot be moved (it changed the region)."
  (let ((b beg) (e end) (kept nil) (list undo-list))
    (catch 'fail
      ;; Newest to oldest: B..E is the region as it was after each entry.
      (while (not (eq list tail))
        (unless (consp list) (throw 'fail nil))  ; TAIL left the list (undo-limit)
        (let ((entry (car list)))
          (if (gethash list cells)
              (progn
                (pcase entry
                  (`(,(and (pred integerp) ib) . ,(and (pred integerp) ie))
                   (unless (and (<= b ib) (<= ie e)) (throw 'fail nil))
                   (setq e (- e (- ie ib))))
                  (`(,(and (pred stringp) text) . ,(and (pred integerp) pos))
                   (unless (<= b (abs pos) e) (throw 'fail nil))
                   (setq e (+ e (length text)))))
                ;; Only the buffer's unmodified state stays of the job's entries.
                (push (cons list (if (eq (car-safe entry) t) entry :dropped)) kept))
            (let ((d (- (- e b) length)))  ; what the job had added to the region then
              (push
               (cons list
                     (pcase entry
                       ('nil nil)
                       ((pred integerp) (cond ((<= entry b) entry) ((>= entry e) (- entry d)) (t b)))
                       (`(t . ,_) entry)
                       (`(,(and (pred integerp) ib) . ,(and (pred integerp) ie))
                        (cond ((<= ie b) (setq b (- b (- ie ib)) e (- e (- ie ib))) entry)
                              ((>= ib e) (cons (- ib d) (- ie d)))
                              (t (throw 'fail nil))))
                       (`(,(and (pred stringp) text) . ,(and (pred integerp) pos))
                        (let ((p (abs pos)))
                          (cond ((<= p b) (setq b (+ b (length text)) e (+ e (length text))) entry)
                                ((>= p e) (cons text (if (< pos 0) (- d p) (- p d))))
                                (t (throw 'fail nil)))))
                       (`(,(pred markerp) . ,_) :dropped)  ; marker adjustments are optional
                       (`(nil ,prop ,value ,(and (pred integerp) ib) . ,(and (pred integerp) ie))
                        (cond ((<= ie b) entry)
                              ((>= ib e) `(nil ,prop ,value ,(- ib d) . ,(- ie d)))
                              (t :dropped)))
                       (_ (throw 'fail nil))))
               kept))))
        (setq list (cdr list)))
      (unless (= (- e b) length) (throw 'fail nil))
      ;; KEPT is oldest first: build the new list on TAIL, one boundary between steps.
      (let ((new tail) (map (make-hash-table :test #'eq)))
        (pcase-dolist (`(,cell . ,entry) kept)
          (unless (or (eq entry :dropped) (and (null entry) (null (car-safe new))))
            (push entry new))
          (puthash cell new map))
        (cons new map)))))

(provide 'gpt-lsp-undo)
;;; gpt-lsp-undo.el ends here
