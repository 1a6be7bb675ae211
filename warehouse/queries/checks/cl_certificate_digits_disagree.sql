-- Digits 19-20 of a 残疾人证号 disagree with 残疾类别/残疾等级. The row loads
-- with the text columns' values (sources.md); the disagreement is for review.
INSERT INTO audit.conflicts
SELECT c.load_id, 'certificate_digits_disagree', 'cl', c.extract_date, c.file_name, c.line_number,
       NULL, mask_id(left(c.cert_no, 18)),
       '证号 digits ' || substr(c.cert_no, 19, 2) || ' but 残疾类别 ' || c.disability_type
           || ' (' || t.digit || '), 残疾等级 ' || c.grade || ' (' || g.digit || ')'
FROM staging.cl_disability c
JOIN (VALUES ('视力', '1'), ('听力', '2'), ('言语', '3'), ('肢体', '4'), ('智力', '5'), ('精神', '6'), ('多重', '7'))
    AS t(disability_type, digit) USING (disability_type)
JOIN (VALUES ('一级', '1'), ('二级', '2'), ('三级', '3'), ('四级', '4')) AS g(grade, digit) USING (grade)
WHERE c.load_id = $load_id
  AND (substr(c.cert_no, 19, 1) <> t.digit OR substr(c.cert_no, 20, 1) <> g.digit);
